//! Rows of a master-key-only class, for a feature that keeps its records in Parse (the feature
//! names the class and its fields: see `meta_callbacks/statuses.rs`).

use actix_web::http::Method;
use serde_json::{json, Value};

use super::{checked_id, ParseClient, ParseError, INVALID_CLASS_NAME};

impl ParseClient {
    /// Makes sure `class` exists with `fields` and that only the master key can read or write
    /// it: every class-level permission empty (Parse's "master key only").
    pub(crate) async fn ensure_private_class(
        &self,
        class: &str,
        fields: &Value,
    ) -> Result<(), ParseError> {
        let clp = json!({
            "find": {}, "count": {}, "get": {}, "create": {}, "update": {}, "delete": {},
            "addField": {}, "protectedFields": {},
        });
        let path = format!("/schemas/{}", checked_id(class)?);
        let schema = json!({"className": class, "fields": fields, "classLevelPermissions": clp});
        match self
            .call("schema", Method::POST, &path, Some(&schema))
            .await
        {
            Ok(_) => Ok(()),
            // It exists: make sure its permissions are still master-key only.
            Err(ParseError::Refused(_, Some(INVALID_CLASS_NAME))) => {
                let update = json!({"className": class, "classLevelPermissions": clp});
                self.call("schema", Method::PUT, &path, Some(&update))
                    .await
                    .map(drop)
            }
            Err(e) => Err(e),
        }
    }

    /// The rows of `class` that match `filter` (a page of them), counted as `kind`.
    pub(crate) async fn find_rows(
        &self,
        kind: &'static str,
        class: &str,
        filter: &Value,
    ) -> Result<Vec<Value>, ParseError> {
        let path = format!("/classes/{}", checked_id(class)?);
        self.query(kind, &path, &filter.to_string()).await
    }

    /// Writes `body` into the row `id` of `class`, or into a new row without one; the row's
    /// objectId when Parse names a new one.
    pub(crate) async fn write_row(
        &self,
        kind: &'static str,
        class: &str,
        id: Option<&str>,
        body: &Value,
    ) -> Result<Option<String>, ParseError> {
        let class = format!("/classes/{}", checked_id(class)?);
        match id {
            Some(id) => {
                let path = format!("{class}/{}", checked_id(id)?);
                self.call(kind, Method::PUT, &path, Some(body)).await?;
                Ok(Some(id.to_string()))
            }
            None => {
                let created = self.call(kind, Method::POST, &class, Some(body)).await?;
                Ok(serde_json::from_slice::<Value>(&created)
                    .ok()
                    .as_ref()
                    .and_then(|v| v.get("objectId")?.as_str())
                    .filter(|id| checked_id(id).is_ok())
                    .map(str::to_string))
            }
        }
    }

    /// Adds one to the number `field` of row `id` and writes `also` with it, atomically in
    /// Parse; the number after the increment (a missing field counts as 0).
    pub(crate) async fn increment_row(
        &self,
        kind: &'static str,
        class: &str,
        id: &str,
        field: &str,
        also: &Value,
    ) -> Result<i64, ParseError> {
        let path = format!("/classes/{}/{}", checked_id(class)?, checked_id(id)?);
        let mut body = also.clone();
        if let Some(map) = body.as_object_mut() {
            map.insert(field.into(), json!({"__op": "Increment", "amount": 1}));
        }
        let answer = self.call(kind, Method::PUT, &path, Some(&body)).await?;
        serde_json::from_slice::<Value>(&answer)
            .ok()
            .and_then(|v| v.get(field)?.as_i64())
            .ok_or(ParseError::Unusable)
    }
}
