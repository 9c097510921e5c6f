//! Where data-deletion statuses are kept, so a status page still answers after a restart: in
//! Parse (class `InstagramDataDeletion`, master key only) when igauth reaches Parse; else in
//! Redis (sealed records) when the cache backend is Redis; else in this process's memory, which
//! a restart loses (said at startup and in docs/going-live.md).

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use quick_cache::sync::Cache;

use crate::domain::{ConfirmationCode, DeletionRecord};
use crate::parse_api::{ParseClient, ParseError};
use crate::shared_cache::SharedCache;

/// How long Redis and memory keep a status (Parse keeps it until the operator removes it).
const KEEP: Duration = Duration::from_secs(90 * 86_400);
/// Statuses held in memory at most (oldest go first).
const MEMORY_ENTRIES: usize = 10_000;
/// The record kind under Redis' record keys.
const KIND: &str = "deletion";

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

    pub(crate) async fn read(
        &self,
        parse: Option<&ParseClient>,
        code: &ConfirmationCode,
    ) -> Result<Option<DeletionRecord>, StoreError> {
        let text = match (&self.backend, parse) {
            (Backend::Parse, Some(parse)) => {
                self.prepare(parse).await?;
                parse
                    .read_status(code.as_str())
                    .await
                    .map_err(StoreError)?
                    .map(|(_, record)| record)
            }
            (Backend::Redis(shared), _) => match shared.get_record(KIND, code.as_str()).await {
                Some(text) => Some(text),
                None => self.remembered(code.as_str()),
            },
            _ => self.remembered(code.as_str()),
        };
        // A record is believed only for the code it was written for.
        Ok(text.and_then(|t| DeletionRecord::decode(&t, code)))
    }

    pub(crate) async fn write(
        &self,
        parse: Option<&ParseClient>,
        record: &DeletionRecord,
    ) -> Result<(), StoreError> {
        let code = record.confirmation_code.as_str();
        let text = record.encode();
        match (&self.backend, parse) {
            (Backend::Parse, Some(parse)) => {
                self.prepare(parse).await?;
                let existing = parse.read_status(code).await.map_err(StoreError)?;
                parse
                    .write_status(existing.as_ref().map(|(id, _)| id.as_str()), code, &text)
                    .await
                    .map_err(StoreError)
            }
            (Backend::Redis(shared), _) => {
                self.remember(code, text.clone());
                // The memory copy answers on this replica meanwhile; Meta's retry writes again.
                if !shared.put_record(KIND, code, &text, KEEP).await {
                    log::warn!(
                        "data deletion {code}: Redis did not take the status; this replica keeps it in memory"
                    );
                }
                Ok(())
            }
            _ => {
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
        parse.ensure_status_class().await.map_err(StoreError)?;
        self.class_ready.store(true, Ordering::Release);
        Ok(())
    }
}
