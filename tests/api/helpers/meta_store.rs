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

type Rows = Arc<Mutex<Vec<Value>>>;

impl FakeStatusClass {
    pub async fn install(parse: &mut mockito::ServerGuard) -> FakeStatusClass {
        let rows: Rows = Arc::default();
        let lookups: Arc<Mutex<usize>> = Arc::default();
        let schema = parse.mock("POST", "/parse/schemas/InstagramDataDeletion");
        let (found, counted) = (rows.clone(), lookups.clone());
        let get = parse
            .mock("GET", CLASS_PATH)
            .match_query(mockito::Matcher::Any);
        let created = rows.clone();
        let post = parse.mock("POST", CLASS_PATH).with_status(201);
        let updated = rows.clone();
        let row_path = mockito::Matcher::Regex(format!("^{CLASS_PATH}/row[0-9]+$"));
        let put = parse.mock("PUT", row_path);
        let mocks = vec![
            schema.with_body("{}").create_async().await,
            get.with_body_from_request(move |req| find(&found, &counted, req))
                .create_async()
                .await,
            post.with_body_from_request(move |req| create(&created, req))
                .create_async()
                .await,
            put.with_body_from_request(move |req| update(&updated, req))
                .create_async()
                .await,
        ];
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

    /// Rewrites every kept record's text with `edit`, leaving the row's MAC as igauth wrote it:
    /// a row changed by something else than igauth.
    pub fn tamper(&self, edit: impl Fn(&str) -> String) {
        for row in self.rows.lock().unwrap().iter_mut() {
            let edited = edit(row["record"].as_str().unwrap());
            row["record"] = json!(edited);
        }
    }

    /// How many times a record was looked up by its code.
    pub fn lookups(&self) -> usize {
        *self.lookups.lock().unwrap()
    }
}

/// GET with a `where`: the rows matching every field of it (a lookup by code is counted).
fn find(rows: &Rows, lookups: &Mutex<usize>, req: &mockito::Request) -> Vec<u8> {
    let query = req.path_and_query().split_once('?').map_or("", |(_, q)| q);
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query).unwrap_or_default();
    let filter: Value = pairs
        .iter()
        .find(|(k, _)| k == "where")
        .and_then(|(_, w)| serde_json::from_str(w).ok())
        .unwrap_or(json!({}));
    if filter.get("confirmation_code").is_some() {
        *lookups.lock().unwrap() += 1;
    }
    let rows = rows.lock().unwrap();
    let matches = |row: &&Value| {
        let mut fields = filter.as_object().unwrap().iter();
        fields.all(|(k, v)| row.get(k) == Some(v))
    };
    let results: Vec<&Value> = rows.iter().filter(matches).collect();
    json!({ "results": results }).to_string().into_bytes()
}

/// POST: a new row, its objectId `rowN`.
fn create(rows: &Rows, req: &mockito::Request) -> Vec<u8> {
    let mut row: Map<String, Value> = serde_json::from_slice(req.body().unwrap()).unwrap();
    let mut rows = rows.lock().unwrap();
    let id = format!("row{}", rows.len() + 1);
    row.insert("objectId".into(), json!(id));
    rows.push(Value::Object(row));
    json!({ "objectId": id }).to_string().into_bytes()
}

/// PUT to `rowN`: its fields set, `Increment` ops applied and answered with the new number.
fn update(rows: &Rows, req: &mockito::Request) -> Vec<u8> {
    let id = req.path().rsplit('/').next().unwrap().to_string();
    let body: Map<String, Value> = serde_json::from_slice(req.body().unwrap()).unwrap();
    let mut rows = rows.lock().unwrap();
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
}
