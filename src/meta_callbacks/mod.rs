//! Meta's compliance callbacks, the use case: verify the signed request (Meta's signature, and
//! fresh: issued within `IGAUTH_META__SIGNED_REQUEST_MAX_AGE_SECS`), find the Parse users under
//! its Instagram id (by `authData.instagram.id` and, when igauth signs people in itself, through
//! the link class it writes), run the operator's Cloud function, apply the
//! configured action, and keep the request's record.
//!
//! Each signed request acts once, on one callback: its code is derived from the signed payload
//! alone, so a replay (on either callback) finds the record the first one left. A deauthorization
//! replayed is answered without acting; one posted to the other callback is refused. A deletion
//! is recorded before anything is done and then carried out ([`work`]); one that does not finish
//! is retried by igauth itself with backoff ([`retry`]) until it does, or until a day has passed.
//! Every step is safe to repeat (a user or session already gone counts as done).

mod retry;
mod statuses;
mod work;

use std::sync::atomic::AtomicU64;
use std::sync::Arc;

use crate::clock::unix_ms as now_ms;
use statuses::{DeletionStatuses, StoreError};

use crate::domain::{
    ConfirmationCode, DeletionRecord, Pending, RequestKind, Secret, SignedRequest,
    SignedRequestError, MAX_SKEW_SECS,
};
use crate::logging::LogThrottle;
use crate::metrics::Metrics;
use crate::parse_api::{ParseClient, ParseError};
use crate::settings::{ParseAction, Settings};
use crate::shared_cache::SharedCache;

/// Which callback; also its label in metrics and logs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Callback {
    Deauthorize,
    DataDeletion,
}

impl Callback {
    pub(crate) fn label(self) -> &'static str {
        match self {
            Callback::Deauthorize => "deauthorize",
            Callback::DataDeletion => "data_deletion",
        }
    }
}

/// Why a callback was not carried out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum MetaError {
    /// The named setting is missing, so this callback cannot work.
    NotConfigured(&'static str),
    /// The signed request is not Meta's, or not well formed: nothing was done.
    Invalid(SignedRequestError),
    /// Parse did not do what was asked (for deauthorize, or when keeping a status).
    Parse(ParseError),
}

impl From<StoreError> for MetaError {
    fn from(StoreError(e): StoreError) -> Self {
        MetaError::Parse(e)
    }
}

/// What a deauthorization did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Deauthorized {
    pub(crate) users: usize,
}

pub(crate) struct MetaCallbacks {
    secret: Secret,
    status_base: Option<String>,
    on_deletion: ParseAction,
    on_deauthorize: ParseAction,
    function: Option<String>,
    statuses: DeletionStatuses,
    metrics: Arc<Metrics>,
    /// How old a signed request may be, in seconds.
    max_age_secs: u64,
    /// igauth links accounts itself (`IGAUTH_PARSE__SESSIONS`): look in the link class too.
    links: bool,
    /// The WARN about refused signed requests, at most one a minute (anyone can post them).
    refusals: LogThrottle,
    /// When the next sweep for deletions to resume is due (ms since the epoch).
    wake_at: AtomicU64,
}

impl MetaCallbacks {
    pub(crate) fn new(
        settings: &Settings,
        shared: Option<SharedCache>,
        metrics: Arc<Metrics>,
    ) -> MetaCallbacks {
        let parse = &settings.parse;
        let parse_configured = settings.features.parse_api;
        let statuses = DeletionStatuses::new(
            parse_configured,
            shared,
            settings.instagram.client_secret.expose().as_bytes(),
        );
        if settings.features.meta_callbacks {
            log::info!(
                "Meta callbacks: data-deletion statuses are kept {}",
                statuses.describe()
            );
        }
        MetaCallbacks {
            secret: settings.instagram.client_secret.clone(),
            status_base: settings.status_url_base(),
            on_deletion: if parse_configured {
                parse.on_data_deletion
            } else {
                ParseAction::None
            },
            on_deauthorize: if parse_configured {
                parse.on_deauthorize
            } else {
                ParseAction::None
            },
            function: (!parse.deletion_function.is_empty())
                .then(|| parse.deletion_function.clone()),
            statuses,
            metrics,
            max_age_secs: settings.meta.signed_request_max_age_secs,
            refusals: LogThrottle::new(),
            links: settings.features.parse_sessions,
            // A restart may have left deletions to resume: the first sweep looks at once.
            wake_at: AtomicU64::new(0),
        }
    }

    /// Whether `callback` can work at all. The faces check it before the body is read (their
    /// `Enabled` gate), so the callbacks below do not check it again.
    pub(crate) fn ready(&self, callback: Callback) -> Result<(), MetaError> {
        let refused = if !self.secret.is_set() {
            Some("IGAUTH_INSTAGRAM__CLIENT_SECRET")
        } else if callback == Callback::DataDeletion && self.status_base.is_none() {
            Some("IGAUTH_SERVER__PUBLIC_URL")
        } else {
            None
        };
        match refused {
            Some(setting) => {
                self.metrics
                    .meta_callback(callback.label(), "not_configured");
                Err(MetaError::NotConfigured(setting))
            }
            None => Ok(()),
        }
    }

    /// The signed request, verified with the app secret and fresh, and its code; counted when
    /// refused.
    fn verify(
        &self,
        callback: Callback,
        raw: &str,
    ) -> Result<(SignedRequest, ConfirmationCode), MetaError> {
        let secret = self.secret.expose().as_bytes();
        SignedRequest::verify(raw, secret)
            .and_then(|request| {
                request.check_fresh(now_ms() / 1000, self.max_age_secs)?;
                Ok(request)
            })
            .map(|request| {
                let code = request.code(secret);
                (request, code)
            })
            .map_err(|e| self.refused(callback, e))
    }

    fn refused(&self, callback: Callback, e: SignedRequestError) -> MetaError {
        self.metrics.meta_callback(callback.label(), "invalid");
        if let Some(count) = self.refusals.tick() {
            log::warn!(
                "Meta {} callback refused: {e} ({count} refused since the last such line; \
                 counted in igauth_meta_callbacks_total{{outcome=\"invalid\"}}, logged at most \
                 once a minute)",
                callback.label()
            );
        }
        MetaError::Invalid(e)
    }

    /// `POST /v1/meta/deauthorize`: the configured action on the matched users, once.
    pub(crate) async fn deauthorize(
        &self,
        parse: Option<&ParseClient>,
        raw: &str,
    ) -> Result<Deauthorized, MetaError> {
        let callback = Callback::Deauthorize;
        let (request, code) = self.verify(callback, raw)?;
        let label = callback.label();
        let (previous, mut row) = self.statuses.read(parse, &code).await?;
        match previous {
            Some(r) if r.kind != RequestKind::Deauthorize => {
                return Err(self.refused(callback, SignedRequestError::UsedElsewhere));
            }
            Some(r) if r.status.is_final() => {
                self.metrics.meta_callback(label, "replayed");
                log::info!("Meta deauthorize {code}: replayed; already handled, nothing done");
                return Ok(Deauthorized { users: 0 });
            }
            _ => {}
        }
        let action = self.on_deauthorize;
        let mut record = DeletionRecord::received(&code, now_ms(), action.as_str());
        record.kind = RequestKind::Deauthorize;
        // Kept while a replay could still pass as fresh, and no longer.
        let fresh_until = request
            .issued_at
            .saturating_add(self.max_age_secs)
            .saturating_add(MAX_SKEW_SECS);
        record.expires_at_ms = Some(fresh_until.saturating_mul(1000));
        // Recorded before acting, so the other callback refuses it from now on.
        self.statuses.write(parse, &mut row, &record).await?;
        let users = match (parse, action) {
            (Some(parse), action) if action != ParseAction::None => {
                let outcome = async {
                    let matched = work::matched(parse, &request.user_id, self.links).await?;
                    work::act(parse, action, &matched).await?;
                    Ok::<_, ParseError>(matched.users.len())
                }
                .await;
                match outcome {
                    Ok(users) => users,
                    Err(e) => {
                        // The record stays unsettled: Meta's retry acts again.
                        self.metrics.meta_callback(label, "failed");
                        log::error!("Meta deauthorize: {} failed: {e}", action.as_str());
                        return Err(MetaError::Parse(e));
                    }
                }
            }
            _ => {
                self.metrics.meta_callback(label, "no_action");
                log::info!(
                    "Meta deauthorize: verified; no Parse action configured \
                     (IGAUTH_PARSE__ON_DEAUTHORIZE=none, or Parse not configured)"
                );
                0
            }
        };
        record.users = users;
        let record = work::settle(
            record,
            if users == 0 {
                crate::domain::DeletionStatus::NoData
            } else {
                crate::domain::DeletionStatus::Completed
            },
            "",
        );
        self.statuses.write(parse, &mut row, &record).await?;
        if action != ParseAction::None && parse.is_some() {
            self.metrics.meta_callback(label, record.status.as_str());
            log::info!(
                "Meta deauthorize: {} applied to {users} user(s)",
                action.as_str()
            );
        }
        Ok(Deauthorized { users })
    }

    /// `POST /v1/meta/data-deletion`: the request's record (settled, or in progress) and its
    /// status URL. A new request is recorded, with whom it is for, before anything is done, so
    /// once Meta has its answer the deletion is finished by igauth whatever happens next.
    pub(crate) async fn data_deletion(
        &self,
        parse: Option<&ParseClient>,
        raw: &str,
    ) -> Result<(DeletionRecord, String), MetaError> {
        let callback = Callback::DataDeletion;
        let (request, code) = self.verify(callback, raw)?;
        let url = format!("{}{code}", self.status_base.as_deref().unwrap_or_default());
        let label = callback.label();
        let (previous, mut row) = self.statuses.read(parse, &code).await?;
        if let Some(previous) = previous {
            if previous.kind != RequestKind::DataDeletion {
                return Err(self.refused(callback, SignedRequestError::UsedElsewhere));
            }
            // Settled, or being finished by igauth's retries: answered as it stands.
            self.metrics.meta_callback(label, "replayed");
            log::info!(
                "data deletion {code}: replayed; {}",
                previous.status.as_str()
            );
            return Ok((previous, url));
        }
        let now = now_ms();
        let mut record = DeletionRecord::received(&code, now, self.on_deletion.as_str());
        record.pending = Some(Pending {
            instagram_id: request.user_id.as_str().to_string(),
            attempts: 0,
            // Were this process to stop mid-run, a sweep resumes it after the lease.
            next_at_ms: now.saturating_add(retry::LEASE_MS),
        });
        let record = self.carry_out(parse, &mut row, record, true).await?;
        Ok((record, url))
    }

    /// The record of a deletion's code from a status link. A code whose MAC is not igauth's is
    /// unknown without a lookup, so guessing costs nothing but the guesser's time.
    pub(crate) async fn status(
        &self,
        parse: Option<&ParseClient>,
        code: &str,
    ) -> Result<Option<DeletionRecord>, MetaError> {
        let Some(code) = ConfirmationCode::verified(code, self.secret.expose().as_bytes()) else {
            return Ok(None);
        };
        let (record, _) = self.statuses.read(parse, &code).await?;
        Ok(record.filter(|r| r.kind == RequestKind::DataDeletion))
    }
}
