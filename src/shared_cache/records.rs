//! Long-lived records in Redis (data-deletion statuses when there is no Parse to keep them):
//! sealed like every value, under `igauth:record:<kind>:<id>`, so a value igauth did not write
//! for that key is not believed. Unlike verdicts, a caller needs to know whether a write landed.

use std::time::Duration;

use super::SharedCache;
use crate::clock::unix_ms as now_ms;

const RECORD_PREFIX: &str = "igauth:record:";
const OP_RECORD: &str = "record";

impl SharedCache {
    /// Stores `payload` sealed under `kind`/`id` for `ttl`; whether Redis took it (failures are
    /// counted under `op="record"`).
    pub(crate) async fn put_record(
        &self,
        kind: &str,
        id: &str,
        payload: &str,
        ttl: Duration,
    ) -> bool {
        let Some(mut conn) = self.usable_connection(OP_RECORD) else {
            return false;
        };
        let name = format!("{RECORD_PREFIX}{kind}:{id}");
        let cmd = self.inner.sealed_set(&name, payload, ttl, false);
        self.inner
            .within_budget(OP_RECORD, cmd.query_async::<Option<String>>(&mut conn))
            .await
            .is_some()
    }

    /// The payload stored under `kind`/`id` if igauth sealed it there and it has not expired;
    /// `None` when absent, unreadable (counted) or not igauth's (counted as rejected).
    pub(crate) async fn get_record(&self, kind: &str, id: &str) -> Option<String> {
        let mut conn = self.usable_connection(OP_RECORD)?;
        let name = format!("{RECORD_PREFIX}{kind}:{id}");
        let mut cmd = redis::cmd("GET");
        cmd.arg(&name);
        let value = self
            .inner
            .within_budget(OP_RECORD, cmd.query_async::<Option<Vec<u8>>>(&mut conn))
            .await??;
        let generations = self.inner.sealer.all();
        match self.inner.sealer.open(&name, &value, &generations) {
            Some((payload, expires_at_ms)) if expires_at_ms > now_ms() => Some(payload.to_string()),
            Some(_) => None,
            None => {
                self.inner.rejected();
                None
            }
        }
    }
}

/// The sorted set of a kind's records waiting for work, scored by when they are due.
const INDEX_PREFIX: &str = "igauth:index:";
/// A short claim on a record's work, so one replica runs it.
const LEASE_PREFIX: &str = "igauth:lease:";

impl SharedCache {
    /// Claims the work on `kind`/`id` for `ttl`, fleet-wide (`SET NX`): whether this replica
    /// got it, or `None` when Redis did not answer (the caller decides without it).
    pub(crate) async fn claim_lease(&self, kind: &str, id: &str, ttl: Duration) -> Option<bool> {
        let mut conn = self.usable_connection(OP_RECORD)?;
        let name = format!("{LEASE_PREFIX}{kind}:{id}");
        let cmd = self.inner.sealed_set(&name, "lease", ttl, true);
        self.inner
            .within_budget(OP_RECORD, cmd.query_async::<Option<String>>(&mut conn))
            .await
            .map(|set| set.is_some())
    }

    /// Files `id` under `kind`'s waiting records, due at `due_ms`; or takes it out (`None`).
    /// Whether Redis took it.
    pub(crate) async fn index(&self, kind: &str, id: &str, due_ms: Option<u64>) -> bool {
        let Some(mut conn) = self.usable_connection(OP_RECORD) else {
            return false;
        };
        let name = format!("{INDEX_PREFIX}{kind}");
        let mut cmd = redis::cmd(if due_ms.is_some() { "ZADD" } else { "ZREM" });
        cmd.arg(&name);
        if let Some(due) = due_ms {
            cmd.arg(due);
        }
        cmd.arg(id);
        self.inner
            .within_budget(OP_RECORD, cmd.query_async::<i64>(&mut conn))
            .await
            .is_some()
    }

    /// Up to `limit` of `kind`'s waiting ids due by `now_ms`, and how many wait in all. The ids
    /// are only names: each record is read (and its seal checked) before anything is done.
    pub(crate) async fn due(
        &self,
        kind: &str,
        now_ms: u64,
        limit: usize,
    ) -> Option<(Vec<String>, usize)> {
        let mut conn = self.usable_connection(OP_RECORD)?;
        let name = format!("{INDEX_PREFIX}{kind}");
        let mut pipe = redis::pipe();
        pipe.cmd("ZRANGEBYSCORE")
            .arg(&name)
            .arg("-inf")
            .arg(now_ms)
            .arg("LIMIT")
            .arg(0)
            .arg(limit)
            .cmd("ZCARD")
            .arg(&name);
        let (ids, waiting) = self
            .inner
            .within_budget(
                OP_RECORD,
                pipe.query_async::<(Vec<String>, usize)>(&mut conn),
            )
            .await?;
        Some((ids, waiting))
    }
}
