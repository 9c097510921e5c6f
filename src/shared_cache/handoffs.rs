//! Redis for the login's handoff codes and for Parse sign-ins:
//! - a handoff's sealed result under `igauth:handoff:<hash of the code>`, taken with `GETDEL`,
//!   so of any number of replicas asked to redeem one code, exactly one gets it. The value is
//!   sealed by [`crate::domain::Handoff`] under a key only the code gives, so no MAC is added.
//! - a short claim per Instagram account (`igauth:account:<keyed hash>`, `SET NX PX` with a
//!   random value, released only by its holder), so replicas sign one person in one at a time
//!   and a first login creates one Parse user.

use std::time::Duration;

use super::SharedCache;
use crate::clock::millis;

const HANDOFF_PREFIX: &str = "igauth:handoff:";
const ACCOUNT_PREFIX: &str = "igauth:account:";
const OP_HANDOFF: &str = "handoff";
const OP_ACCOUNT: &str = "account";
/// Deletes the claim only if it still holds this holder's value (it may have expired and been
/// taken by another replica since).
const RELEASE: &str =
    "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0";

impl SharedCache {
    /// Stores a sealed handoff for `ttl`; whether Redis took it (failures counted under
    /// `op="handoff"`).
    pub(crate) async fn put_handoff(&self, name: &str, sealed: Vec<u8>, ttl: Duration) -> bool {
        let Some(mut conn) = self.usable_connection(OP_HANDOFF) else {
            return false;
        };
        let mut cmd = redis::cmd("SET");
        cmd.arg(format!("{HANDOFF_PREFIX}{name}"))
            .arg(sealed)
            .arg("PX")
            .arg(millis(ttl).max(1));
        self.inner
            .within_budget(OP_HANDOFF, cmd.query_async::<Option<String>>(&mut conn))
            .await
            .is_some()
    }

    /// Takes (reads and deletes at once) the handoff filed under `name`: `None` when there is
    /// none, or Redis cannot answer.
    pub(crate) async fn take_handoff(&self, name: &str) -> Option<Vec<u8>> {
        let mut conn = self.usable_connection(OP_HANDOFF)?;
        let mut cmd = redis::cmd("GETDEL");
        cmd.arg(format!("{HANDOFF_PREFIX}{name}"));
        self.inner
            .within_budget(OP_HANDOFF, cmd.query_async::<Option<Vec<u8>>>(&mut conn))
            .await?
    }

    /// Claims `account` for `ttl` with the holder's random `value`: `Some(true)` when this call
    /// got it, `Some(false)` when another holder has it, `None` when Redis cannot say.
    pub(crate) async fn claim_account(
        &self,
        account: &str,
        value: &str,
        ttl: Duration,
    ) -> Option<bool> {
        let mut conn = self.usable_connection(OP_ACCOUNT)?;
        let mut cmd = redis::cmd("SET");
        cmd.arg(self.account_key(account))
            .arg(value)
            .arg("NX")
            .arg("PX")
            .arg(millis(ttl).max(1));
        self.inner
            .within_budget(OP_ACCOUNT, cmd.query_async::<Option<String>>(&mut conn))
            .await
            .map(|set| set.is_some())
    }

    /// Releases a claim made with `value` (a no-op when it has passed to someone else).
    pub(crate) async fn release_account(&self, account: &str, value: &str) {
        let Some(mut conn) = self.usable_connection(OP_ACCOUNT) else {
            return;
        };
        let mut cmd = redis::cmd("EVAL");
        cmd.arg(RELEASE)
            .arg(1)
            .arg(self.account_key(account))
            .arg(value);
        self.inner
            .within_budget(OP_ACCOUNT, cmd.query_async::<i64>(&mut conn))
            .await;
    }

    /// A keyed hash of the account id, so Redis does not list who logs in.
    fn account_key(&self, account: &str) -> String {
        format!("{ACCOUNT_PREFIX}{}", self.inner.sealer.name_for(account))
    }
}
