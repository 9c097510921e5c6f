//! The Parse users of an Instagram account: found by the verified id (for Meta's callbacks, and
//! for a sign-in that keeps a user made by Parse's own adapter); what Meta's callbacks do to
//! them: revoke their sessions, delete or unlink them, run the app's Cloud function.

use actix_web::http::Method;
use serde_json::{json, Value};

use super::{checked_id, object_ids, ParseClient, ParseError, OBJECT_NOT_FOUND};
use crate::domain::IgId;

impl ParseClient {
    /// The objectIds of users whose `authData.instagram.id` is `id`. Only `id`: it is what
    /// Parse's adapter (or igauth's trigger) checked against the token at signup, while a
    /// `user_id` beside it may be whatever the client stored, and a destructive action must not
    /// reach an account on an unverified claim.
    pub(crate) async fn find_users(&self, id: &IgId) -> Result<Vec<String>, ParseError> {
        let filter = json!({"authData.instagram.id": id.as_str()});
        let found = self
            .query("find_users", "/classes/_User", &filter.to_string())
            .await?;
        Ok(object_ids(&found))
    }

    /// Deletes every session of `user`; how many there were.
    pub(crate) async fn revoke_sessions(&self, user: &str) -> Result<usize, ParseError> {
        let filter = json!({"user": {"__type": "Pointer", "className": "_User", "objectId": user}});
        let sessions = self
            .query("list_sessions", "/classes/_Session", &filter.to_string())
            .await?;
        let ids = object_ids(&sessions);
        for session in &ids {
            let path = format!("/classes/_Session/{session}");
            match self
                .call("revoke_session", Method::DELETE, &path, None)
                .await
            {
                Ok(_) | Err(ParseError::Refused(_, Some(OBJECT_NOT_FOUND))) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(ids.len())
    }

    /// Deletes `user` (Parse runs its beforeDelete/afterDelete triggers). Already gone is done.
    pub(crate) async fn delete_user(&self, user: &str) -> Result<(), ParseError> {
        let path = format!("/users/{}", checked_id(user)?);
        match self.call("delete_user", Method::DELETE, &path, None).await {
            Ok(_) | Err(ParseError::Refused(_, Some(OBJECT_NOT_FOUND))) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Removes `authData.instagram` from `user`.
    pub(crate) async fn unlink(&self, user: &str) -> Result<(), ParseError> {
        let path = format!("/users/{}", checked_id(user)?);
        let body = json!({"authData": {"instagram": null}});
        match self.call("unlink", Method::PUT, &path, Some(&body)).await {
            Ok(_) | Err(ParseError::Refused(_, Some(OBJECT_NOT_FOUND))) => Ok(()),
            Err(ParseError::Refused(500, _)) => Err(ParseError::UnlinkBug),
            Err(e) => Err(e),
        }
    }

    /// Runs the Cloud function `name` with `params` (master key: `request.master` is true).
    pub(crate) async fn call_function(&self, name: &str, params: &Value) -> Result<(), ParseError> {
        let path = format!("/functions/{name}");
        self.call("function", Method::POST, &path, Some(params))
            .await
            .map(drop)
    }
}
