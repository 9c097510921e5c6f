//! A Parse status class that keeps what igauth writes, for mockito: rows created by POST,
//! updated by PUT (Parse's `Increment` included, answered with the new number, as Parse does),
//! found by GET with a `where` on `confirmation_code` or `pending`. Lets the Meta tests see
//! replays, retries and restarts against one Parse that remembers.

use std::sync::{Arc, Mutex};

use serde_json::{json, Map, Value};

pub const CLASS_PATH: &str = "/parse/classes/InstagramDataDeletion";

pub struct FakeStatusClass {
    rows: Arc<Mutex<Vec<Value>>>,
    lookups: Arc<Mutex<usize>>,
    _mocks: Vec<mockito::Mock>,
}

impl FakeStatusClass {
    pub async fn install(parse: &mut mockito::ServerGuard) -> FakeStatusClass {
        let rows: Arc<Mutex<Vec<Value>>> = Arc::default();
        let lookups: Arc<Mutex<usize>> = Arc::default();
        let mut mocks = vec![
            parse
                .mock("POST", "/parse/schemas/InstagramDataDeletion")
                .with_body("{}")
                .create_async()
                .await,
        ];
        let (found, counted) = (rows.clone(), lookups.clone());
        mocks.push(
            parse
                .mock("GET", CLASS_PATH)
                .match_query(mockito::Matcher::Any)
                .with_body_from_request(move |req| {
                    let query = req.path_and_query().split_once('?').map_or("", |(_, q)| q);
                    let pairs: Vec<(String, String)> =
                        serde_urlencoded::from_str(query).unwrap_or_default();
                    let filter: Value = pairs
                        .iter()
                        .find(|(k, _)| k == "where")
                        .and_then(|(_, w)| serde_json::from_str(w).ok())
                        .unwrap_or(json!({}));
                    if filter.get("confirmation_code").is_some() {
                        *counted.lock().unwrap() += 1;
                    }
                    let rows = found.lock().unwrap();
                    let results: Vec<&Value> = rows
                        .iter()
                        .filter(|row| {
                            filter
                                .as_object()
                                .unwrap()
                                .iter()
                                .all(|(k, v)| row.get(k) == Some(v))
                        })
                        .collect();
                    json!({ "results": results }).to_string().into_bytes()
                })
                .create_async()
                .await,
        );
        let created = rows.clone();
        mocks.push(
            parse
                .mock("POST", CLASS_PATH)
                .with_status(201)
                .with_body_from_request(move |req| {
                    let mut row: Map<String, Value> =
                        serde_json::from_slice(req.body().unwrap()).unwrap();
                    let mut rows = created.lock().unwrap();
                    let id = format!("row{}", rows.len() + 1);
                    row.insert("objectId".into(), json!(id));
                    rows.push(Value::Object(row));
                    json!({ "objectId": id }).to_string().into_bytes()
                })
                .create_async()
                .await,
        );
        let updated = rows.clone();
        mocks.push(
            parse
                .mock(
                    "PUT",
                    mockito::Matcher::Regex(format!("^{CLASS_PATH}/row[0-9]+$")),
                )
                .with_body_from_request(move |req| {
                    let id = req.path().rsplit('/').next().unwrap().to_string();
                    let body: Map<String, Value> =
                        serde_json::from_slice(req.body().unwrap()).unwrap();
                    let mut rows = updated.lock().unwrap();
                    let row = rows
                        .iter_mut()
                        .find(|r| r["objectId"] == id.as_str())
                        .unwrap()
                        .as_object_mut()
                        .unwrap();
                    let mut answer = Map::new();
                    for (k, v) in body {
                        if v.get("__op").and_then(Value::as_str) == Some("Increment") {
                            let n = row.get(&k).and_then(Value::as_i64).unwrap_or(0) + 1;
                            row.insert(k.clone(), json!(n));
                            answer.insert(k, json!(n));
                        } else {
                            row.insert(k, v);
                        }
                    }
                    Value::Object(answer).to_string().into_bytes()
                })
                .create_async()
                .await,
        );
        FakeStatusClass {
            rows,
            lookups,
            _mocks: mocks,
        }
    }

    /// The records kept, decoded.
    pub fn records(&self) -> Vec<Value> {
        self.rows
            .lock()
            .unwrap()
            .iter()
            .map(|row| serde_json::from_str(row["record"].as_str().unwrap()).unwrap())
            .collect()
    }

    /// How many times a record was looked up by its code.
    pub fn lookups(&self) -> usize {
        *self.lookups.lock().unwrap()
    }
}
