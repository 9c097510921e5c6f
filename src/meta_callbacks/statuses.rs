//! Where the records of Meta's signed requests are kept (data-deletion statuses, and the
//! deauthorizations handled while they could still be fresh), so a status page still answers,
//! a replay is recognised and a deletion still to be finished is resumed after a restart: in
//! Parse (class `InstagramDataDeletion`, master key only) when igauth reaches Parse; else in
//! Redis (sealed records) when the cache backend is Redis; else in this process's memory, which
//! a restart loses (said at startup and in docs/going-live.md). The backend is chosen once, at start.
//!
//! In Parse, a record is one row. Its objectId travels with the record from the first read
//! ([`Row`]), so the writes that follow update that row without looking it up again. Deletions
//! still to be finished are found by the row's `pending` and `next_at` columns (Parse), a sorted
//! set of codes (Redis) or an index in memory; one replica claims each run: Parse's atomic
//! `Increment` of the row's `lease`, Redis' `SET NX`, or this process's lock.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use quick_cache::sync::Cache;

use serde_json::{json, Value};

use crate::clock::unix_ms as now_ms;
use crate::domain::{ConfirmationCode, DeletionRecord, RowMac};
use crate::parse_api::{checked_id, ParseClient, ParseError};
use crate::shared_cache::SharedCache;

/// How long Redis and memory keep a deletion's status (Parse keeps it until the operator
/// removes it).
const KEEP: Duration = Duration::from_secs(90 * 86_400);
/// Records held in memory at most (oldest go first).
const MEMORY_ENTRIES: usize = 10_000;
/// The record kind under Redis' record keys.
const KIND: &str = "deletion";
/// The Parse class that keeps the records.
const STATUS_CLASS: &str = "InstagramDataDeletion";
/// Deletions picked up by one sweep at most.
const SWEEP_BATCH: usize = 20;

/// Where a record lives in Parse (its row's objectId and lease count), once known; elsewhere
/// always empty.
#[derive(Debug, Default)]
pub(crate) struct Row {
    id: Option<String>,
    lease: i64,
    /// The row's `next_at`: a claim moves it with the lease, before the record is rewritten.
    next_at: u64,
}

/// A record could not be read or written (only Parse can fail: Redis falls back to memory).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StoreError(pub(crate) ParseError);

enum Backend {
    Parse,
    Redis(SharedCache),
    Memory,
}

pub(crate) struct DeletionStatuses {
    backend: Backend,
    /// Also the fallback copy behind Redis, so a Redis blip does not lose a fresh record.
    /// Code -> (until when it is kept, the encoded record).
    memory: Cache<String, (Instant, String)>,
    /// Deletions still to be finished that this process knows of (memory, and Redis' fallback):
    /// code -> when the next run is due (ms since the epoch).
    waiting: Mutex<HashMap<String, u64>>,
    /// The Parse class exists with master-key-only permissions (checked once per process).
    class_ready: AtomicBool,
    /// Signs the records kept in Parse: a row is believed only with its MAC, so a row planted
    /// or edited by anything but igauth never makes igauth act (Redis' are sealed already).
    row_mac: RowMac,
}

impl DeletionStatuses {
    /// `secret`: the app secret Meta signs with, which also keys the Parse rows' MACs.
    pub(crate) fn new(parse: bool, shared: Option<SharedCache>, secret: &[u8]) -> DeletionStatuses {
        let backend = match (parse, shared) {
            (true, _) => Backend::Parse,
            (false, Some(shared)) => Backend::Redis(shared),
            (false, None) => Backend::Memory,
        };
        DeletionStatuses {
            backend,
            memory: Cache::new(MEMORY_ENTRIES),
            waiting: Mutex::new(HashMap::new()),
            class_ready: AtomicBool::new(false),
            row_mac: RowMac::new(secret, "igauth-deletion"),
        }
    }

    /// Where statuses are kept, for the startup log.
    pub(crate) fn describe(&self) -> &'static str {
        match self.backend {
            Backend::Parse => "in Parse (class InstagramDataDeletion, master key only)",
            Backend::Redis(_) => "in Redis (sealed, kept 90 days)",
            Backend::Memory => {
                "in this process's memory only: a restart loses them, and the deletions still \
                 to be finished (configure Parse (IGAUTH_PARSE__*) or IGAUTH_CACHE__BACKEND=redis \
                 to keep them)"
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
                let parse = self.prepared(parse).await?;
                let filter = json!({"confirmation_code": code.as_str()});
                let rows = parse
                    .find_rows("status_read", STATUS_CLASS, &filter)
                    .await
                    .map_err(StoreError)?;
                match rows.iter().find_map(|r| self.parse_row(r)) {
                    Some((text, row)) => (Some(text), row),
                    None => (None, Row::default()),
                }
            }
            Backend::Redis(shared) => match shared.get_record(KIND, code.as_str()).await {
                Some(text) => (Some(text), Row::default()),
                None => (self.remembered(code.as_str()), Row::default()),
            },
            Backend::Memory => (self.remembered(code.as_str()), Row::default()),
        };
        // A record is believed only for the code it was written for, and while it is kept.
        let record = text
            .and_then(|t| DeletionRecord::decode(&t, code))
            .filter(|r| r.expires_at_ms.is_none_or(|at| at > now_ms()));
        Ok((record, row))
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
        let due = record.pending.as_ref().map(|p| p.next_at_ms);
        let keep = record.expires_at_ms.map_or(KEEP, |at| {
            Duration::from_millis(at.saturating_sub(now_ms()).max(1))
        });
        match &self.backend {
            Backend::Parse => {
                let parse = self.prepared(parse).await?;
                let mut body = json!({
                    "confirmation_code": code,
                    "mac": self.row_mac.tag(&text),
                    "record": text,
                    "pending": due.is_some(),
                    "next_at": due.unwrap_or(0),
                });
                if let (Some(at), Some(map)) = (record.expires_at_ms, body.as_object_mut()) {
                    map.insert("expires_at".into(), json!(at));
                }
                let written = parse
                    .write_row("status_write", STATUS_CLASS, row.id.as_deref(), &body)
                    .await
                    .map_err(StoreError)?;
                row.id = written;
                Ok(())
            }
            Backend::Redis(shared) => {
                self.remember(code, text.clone(), keep, due);
                // The memory copy answers on this replica meanwhile, and its index resumes the
                // deletion here if Redis lost it.
                let stored = shared.put_record(KIND, code, &text, keep).await
                    && shared.index(KIND, code, due).await;
                if !stored {
                    log::warn!(
                        "Meta request {code}: Redis did not take its record; this replica keeps \
                         it in memory"
                    );
                }
                Ok(())
            }
            Backend::Memory => {
                self.remember(code, text, keep, due);
                Ok(())
            }
        }
    }

    /// Up to a batch of deletions whose next run is due by `now`, how many wait in all, and
    /// when the next one not yet due is.
    pub(crate) async fn due(
        &self,
        parse: Option<&ParseClient>,
        now: u64,
    ) -> Result<(Vec<(DeletionRecord, Row)>, usize, Option<u64>), StoreError> {
        let mut found = Vec::new();
        let mut next: Option<u64> = None;
        let waiting = match &self.backend {
            Backend::Parse => {
                let parse = self.prepared(parse).await?;
                let rows = parse
                    .find_rows("status_due", STATUS_CLASS, &json!({"pending": true}))
                    .await
                    .map_err(StoreError)?;
                for (text, row) in rows.iter().filter_map(|r| self.parse_row(r)) {
                    // The later of the record's due time and the row's: a run another replica
                    // claimed is not due again until its lease ends.
                    let Some(at) = decode_any(&text)
                        .and_then(|r| Some((r.pending.as_ref()?.next_at_ms.max(row.next_at), r)))
                    else {
                        continue;
                    };
                    match at {
                        (at, record) if at <= now && found.len() < SWEEP_BATCH => {
                            found.push((record, row));
                        }
                        (at, _) => next = Some(next.map_or(at, |n| n.min(at))),
                    }
                }
                rows.len()
            }
            Backend::Redis(shared) => {
                let (mut codes, mut waiting, soonest) = self.due_here(now);
                next = soonest;
                if let Some((shared_codes, shared_waiting)) =
                    shared.due(KIND, now, SWEEP_BATCH).await
                {
                    for code in shared_codes {
                        if !codes.contains(&code) {
                            codes.push(code);
                        }
                    }
                    waiting = waiting.max(shared_waiting);
                }
                for code in codes.into_iter().take(SWEEP_BATCH) {
                    let Some(code) = ConfirmationCode::parse(&code) else {
                        shared.index(KIND, &code, None).await;
                        continue;
                    };
                    match self.read(None, &code).await?.0 {
                        Some(record) if record.pending.is_some() => {
                            found.push((record, Row::default()));
                        }
                        // Settled elsewhere, or not a record igauth sealed: not waiting.
                        _ => {
                            shared.index(KIND, code.as_str(), None).await;
                            self.forget_waiting(code.as_str());
                        }
                    }
                }
                waiting
            }
            Backend::Memory => {
                let (codes, waiting, soonest) = self.due_here(now);
                next = soonest;
                for code in codes.into_iter().take(SWEEP_BATCH) {
                    let Some(record) = ConfirmationCode::parse(&code)
                        .and_then(|c| {
                            self.remembered(&code)
                                .and_then(|t| DeletionRecord::decode(&t, &c))
                        })
                        .filter(|r| r.pending.is_some())
                    else {
                        self.forget_waiting(&code);
                        continue;
                    };
                    found.push((record, Row::default()));
                }
                waiting
            }
        };
        Ok((found, waiting, next))
    }

    /// Claims the next run of `record` for this replica until `until` (ms since the epoch):
    /// whether it got it. Another replica that claimed it first runs it instead.
    pub(crate) async fn claim(
        &self,
        parse: Option<&ParseClient>,
        row: &mut Row,
        record: &DeletionRecord,
        until: u64,
    ) -> Result<bool, StoreError> {
        let code = record.confirmation_code.as_str();
        match &self.backend {
            Backend::Parse => {
                let parse = self.prepared(parse).await?;
                let Some(id) = row.id.as_deref() else {
                    return Ok(false);
                };
                // Every replica that read `lease` as n asks for n + 1; only the first gets it.
                let now_lease = parse
                    .increment_row(
                        "status_claim",
                        STATUS_CLASS,
                        id,
                        "lease",
                        &json!({"next_at": until}),
                    )
                    .await
                    .map_err(StoreError)?;
                let claimed = now_lease == row.lease + 1;
                row.lease = now_lease;
                Ok(claimed)
            }
            Backend::Redis(shared) => {
                let lease = Duration::from_millis(until.saturating_sub(now_ms()).max(1));
                // Redis decides while it answers; this process's own record only without it.
                Ok(match shared.claim_lease(KIND, code, lease).await {
                    Some(claimed) => claimed,
                    None => self.claim_here(code, until),
                })
            }
            Backend::Memory => Ok(self.claim_here(code, until)),
        }
    }

    fn remember(&self, code: &str, text: String, keep: Duration, due: Option<u64>) {
        self.memory
            .insert(code.to_string(), (Instant::now() + keep, text));
        let mut waiting = self.waiting.lock().unwrap_or_else(|e| e.into_inner());
        match due {
            Some(due) => waiting.insert(code.to_string(), due),
            None => waiting.remove(code),
        };
    }

    fn remembered(&self, code: &str) -> Option<String> {
        self.memory
            .get(code)
            .filter(|(until, _)| *until > Instant::now())
            .map(|(_, text)| text)
    }

    /// The codes this process holds that are due, how many it holds, and when the next one
    /// not yet due is.
    fn due_here(&self, now: u64) -> (Vec<String>, usize, Option<u64>) {
        let waiting = self.waiting.lock().unwrap_or_else(|e| e.into_inner());
        let due = waiting
            .iter()
            .filter(|(_, at)| **at <= now)
            .map(|(code, _)| code.clone())
            .collect();
        let next = waiting.values().copied().filter(|at| *at > now).min();
        (due, waiting.len(), next)
    }

    /// Moves a due code's next run to `until`, under the lock: whether it was still due.
    fn claim_here(&self, code: &str, until: u64) -> bool {
        let mut waiting = self.waiting.lock().unwrap_or_else(|e| e.into_inner());
        match waiting.get_mut(code) {
            Some(at) if *at <= now_ms() => {
                *at = until;
                true
            }
            // Not known here (another replica's, through Redis): Redis' lease decided.
            None => false,
            Some(_) => false,
        }
    }

    fn forget_waiting(&self, code: &str) {
        self.waiting
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(code);
    }

    /// The worker's Parse client, with the class created (or its permissions reset to master
    /// key only) once.
    async fn prepared<'p>(
        &self,
        parse: Option<&'p ParseClient>,
    ) -> Result<&'p ParseClient, StoreError> {
        // It always has one when Parse is the backend (both follow `IGAUTH_PARSE__*`); were it
        // ever missing, the record is refused, never kept elsewhere.
        let parse = parse.ok_or(StoreError(ParseError::Unreachable))?;
        if self.class_ready.load(Ordering::Acquire) {
            return Ok(parse);
        }
        let fields = json!({
            "confirmation_code": {"type": "String"},
            "record": {"type": "String"},
            "mac": {"type": "String"},
            "pending": {"type": "Boolean"},
            "next_at": {"type": "Number"},
            "lease": {"type": "Number"},
            "expires_at": {"type": "Number"},
        });
        parse
            .ensure_private_class(STATUS_CLASS, &fields)
            .await
            .map_err(StoreError)?;
        self.class_ready.store(true, Ordering::Release);
        Ok(parse)
    }

    /// A Parse row's record text and where it lives, if igauth wrote it (its MAC checks out).
    fn parse_row(&self, row: &Value) -> Option<(String, Row)> {
        let id = row.get("objectId")?.as_str()?;
        let record = row.get("record")?.as_str()?;
        checked_id(id).ok()?;
        if !self.row_mac.verifies(record, row.get("mac")?.as_str()?) {
            return None;
        }
        let lease = row.get("lease").and_then(Value::as_i64).unwrap_or(0);
        let next_at = row.get("next_at").and_then(Value::as_u64).unwrap_or(0);
        Some((
            record.to_string(),
            Row {
                id: Some(id.to_string()),
                lease,
                next_at,
            },
        ))
    }
}

/// A record read without knowing its code first (a sweep), believed for the code it names.
fn decode_any(text: &str) -> Option<DeletionRecord> {
    let code = serde_json::from_str::<Value>(text)
        .ok()?
        .get("confirmation_code")?
        .as_str()
        .and_then(ConfirmationCode::parse)?;
    DeletionRecord::decode(text, &code)
}
