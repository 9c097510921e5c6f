//! Where data-deletion statuses are kept, so a status page still answers after a restart: in
//! Parse (class `InstagramDataDeletion`, master key only) when igauth reaches Parse; else in
//! Redis (sealed records) when the cache backend is Redis; else in this process's memory, which
//! a restart loses (said at startup and in the README). The backend is chosen once, at start.
//!
//! In Parse, a status is one row. Its objectId travels with the record from the first read
//! ([`Row`]), so the writes that follow update that row without looking it up again: a deletion
//! costs one status read and two writes.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use quick_cache::sync::Cache;

use serde_json::json;

use crate::domain::{ConfirmationCode, DeletionRecord};
use crate::parse_api::{checked_id, ParseClient, ParseError};
use crate::shared_cache::SharedCache;

/// How long Redis and memory keep a status (Parse keeps it until the operator removes it).
const KEEP: Duration = Duration::from_secs(90 * 86_400);
/// Statuses held in memory at most (oldest go first).
const MEMORY_ENTRIES: usize = 10_000;
/// The record kind under Redis' record keys.
const KIND: &str = "deletion";
/// The Parse class that keeps data-deletion statuses.
const STATUS_CLASS: &str = "InstagramDataDeletion";

/// Where a status lives in Parse (its row's objectId), once known; elsewhere always empty.
#[derive(Debug, Default)]
pub(crate) struct Row(Option<String>);

/// A status could not be read or written (only Parse can fail: Redis falls back to memory).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StoreError(pub(crate) ParseError);

enum Backend {
    Parse,
    Redis(SharedCache),
    Memory,
}

pub(crate) struct DeletionStatuses {
    backend: Backend,
    /// Also the fallback copy behind Redis, so a Redis blip does not lose a fresh status.
    /// Code -> (until when it is kept, the encoded record).
    memory: Cache<String, (Instant, String)>,
    /// The Parse class exists with master-key-only permissions (checked once per process).
    class_ready: AtomicBool,
}

impl DeletionStatuses {
    pub(crate) fn new(parse: bool, shared: Option<SharedCache>) -> DeletionStatuses {
        let backend = match (parse, shared) {
            (true, _) => Backend::Parse,
            (false, Some(shared)) => Backend::Redis(shared),
            (false, None) => Backend::Memory,
        };
        DeletionStatuses {
            backend,
            memory: Cache::new(MEMORY_ENTRIES),
            class_ready: AtomicBool::new(false),
        }
    }

    /// Where statuses are kept, for the startup log.
    pub(crate) fn describe(&self) -> &'static str {
        match self.backend {
            Backend::Parse => "in Parse (class InstagramDataDeletion, master key only)",
            Backend::Redis(_) => "in Redis (sealed, kept 90 days)",
            Backend::Memory => {
                "in this process's memory only: a restart loses them (configure Parse \
                 (IGAUTH_PARSE__*) or IGAUTH_CACHE__BACKEND=redis to keep them)"
            }
        }
    }

    /// The record of `code`, and where it lives (for the writes that follow).
    pub(crate) async fn read(
        &self,
        parse: Option<&ParseClient>,
        code: &ConfirmationCode,
    ) -> Result<(Option<DeletionRecord>, Row), StoreError> {
        let (text, row) = match &self.backend {
            Backend::Parse => {
                let parse = parse_client(parse)?;
                self.prepare(parse).await?;
                let filter = json!({"confirmation_code": code.as_str()});
                let rows = parse
                    .find_rows("status_read", STATUS_CLASS, &filter)
                    .await
                    .map_err(StoreError)?;
                match rows.iter().find_map(|row| {
                    let id = row.get("objectId")?.as_str()?;
                    let record = row.get("record")?.as_str()?;
                    checked_id(id).ok()?;
                    Some((id.to_string(), record.to_string()))
                }) {
                    Some((id, text)) => (Some(text), Row(Some(id))),
                    None => (None, Row(None)),
                }
            }
            Backend::Redis(shared) => match shared.get_record(KIND, code.as_str()).await {
                Some(text) => (Some(text), Row(None)),
                None => (self.remembered(code.as_str()), Row(None)),
            },
            Backend::Memory => (self.remembered(code.as_str()), Row(None)),
        };
        // A record is believed only for the code it was written for.
        Ok((text.and_then(|t| DeletionRecord::decode(&t, code)), row))
    }

    /// Writes `record` where [`DeletionStatuses::read`] found it (or anew), and remembers where.
    pub(crate) async fn write(
        &self,
        parse: Option<&ParseClient>,
        row: &mut Row,
        record: &DeletionRecord,
    ) -> Result<(), StoreError> {
        let code = record.confirmation_code.as_str();
        let text = record.encode();
        match &self.backend {
            Backend::Parse => {
                let parse = parse_client(parse)?;
                self.prepare(parse).await?;
                let body = json!({"confirmation_code": code, "record": text});
                let written = parse
                    .write_row("status_write", STATUS_CLASS, row.0.as_deref(), &body)
                    .await
                    .map_err(StoreError)?;
                row.0 = written;
                Ok(())
            }
            Backend::Redis(shared) => {
                self.remember(code, text.clone());
                // The memory copy answers on this replica meanwhile; Meta's retry writes again.
                if !shared.put_record(KIND, code, &text, KEEP).await {
                    log::warn!(
                        "data deletion {code}: Redis did not take the status; this replica keeps it in memory"
                    );
                }
                Ok(())
            }
            Backend::Memory => {
                self.remember(code, text);
                Ok(())
            }
        }
    }

    fn remember(&self, code: &str, text: String) {
        self.memory
            .insert(code.to_string(), (Instant::now() + KEEP, text));
    }

    fn remembered(&self, code: &str) -> Option<String> {
        self.memory
            .get(code)
            .filter(|(until, _)| *until > Instant::now())
            .map(|(_, text)| text)
    }

    /// Creates the Parse class (or resets its permissions to master key only), once.
    async fn prepare(&self, parse: &ParseClient) -> Result<(), StoreError> {
        if self.class_ready.load(Ordering::Acquire) {
            return Ok(());
        }
        let fields = json!({
            "confirmation_code": {"type": "String"},
            "record": {"type": "String"},
        });
        parse
            .ensure_private_class(STATUS_CLASS, &fields)
            .await
            .map_err(StoreError)?;
        self.class_ready.store(true, Ordering::Release);
        Ok(())
    }
}

/// The worker's Parse client, which it always has when Parse is the backend (both follow
/// `IGAUTH_PARSE__*`); were it ever missing, the status is refused, never kept elsewhere.
fn parse_client(parse: Option<&ParseClient>) -> Result<&ParseClient, StoreError> {
    parse.ok_or(StoreError(ParseError::Unreachable))
}
