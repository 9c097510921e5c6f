//! One sign-in per Instagram account at a time: in this process (striped async locks), and with
//! Redis across replicas (a short claim with a random value, released by its holder). What a
//! lock cannot guarantee (Redis down during a race between replicas) the caller's re-read after
//! creating settles.

use std::time::{Duration, Instant};

use futures_util::lock::{Mutex, MutexGuard};

use crate::shared_cache::SharedCache;

/// Locks in this process: accounts hash onto stripes, so memory stays fixed.
const STRIPES: usize = 256;
/// How long a replica may hold an account's claim: a sign-in is a handful of Parse calls.
const CLAIM_TTL: Duration = Duration::from_secs(15);
/// How often a replica waiting for another's claim looks again.
const CLAIM_POLL: Duration = Duration::from_millis(25);

pub(super) struct AccountLocks {
    stripes: Vec<Mutex<()>>,
    shared: Option<SharedCache>,
    /// Longest wait for another replica's claim; then the sign-in goes ahead and relies on the
    /// re-read.
    wait: Duration,
}

/// Held while one account signs in.
pub(super) struct AccountGuard<'a> {
    _local: MutexGuard<'a, ()>,
    claim: Option<(SharedCache, String, String)>,
}

impl AccountGuard<'_> {
    /// Lets other replicas in (the local lock goes with the guard).
    pub(super) async fn release(self) {
        if let Some((shared, account, value)) = &self.claim {
            shared.release_account(account, value).await;
        }
    }
}

impl AccountLocks {
    pub(super) fn new(shared: Option<SharedCache>, wait: Duration) -> AccountLocks {
        AccountLocks {
            stripes: (0..STRIPES).map(|_| Mutex::new(())).collect(),
            shared,
            wait,
        }
    }

    pub(super) async fn lock(&self, account: &str) -> AccountGuard<'_> {
        let local = self.stripes[stripe(account)].lock().await;
        let claim = match &self.shared {
            Some(shared) => self.claim(shared, account).await,
            None => None,
        };
        AccountGuard {
            _local: local,
            claim,
        }
    }

    /// Waits (bounded) for the fleet-wide claim; `None` when Redis cannot say or the wait ran
    /// out (the sign-in then goes ahead; its re-read settles any race).
    async fn claim(
        &self,
        shared: &SharedCache,
        account: &str,
    ) -> Option<(SharedCache, String, String)> {
        let value = random_value()?;
        let until = Instant::now() + self.wait;
        loop {
            match shared.claim_account(account, &value, CLAIM_TTL).await {
                Some(true) => return Some((shared.clone(), account.to_string(), value)),
                Some(false) if Instant::now() < until => {
                    actix_web::rt::time::sleep(CLAIM_POLL).await;
                }
                _ => return None,
            }
        }
    }
}

fn stripe(account: &str) -> usize {
    let digest = ring::digest::digest(&ring::digest::SHA256, account.as_bytes());
    usize::from(digest.as_ref()[0])
}

fn random_value() -> Option<String> {
    use ring::rand::SecureRandom;
    let mut bytes = [0u8; 16];
    ring::rand::SystemRandom::new().fill(&mut bytes).ok()?;
    Some(bytes.iter().map(|b| format!("{b:02x}")).collect())
}
