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
