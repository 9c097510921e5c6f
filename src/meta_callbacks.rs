//! Meta's compliance callbacks, the use case: verify the signed request, find the Parse users
//! under its Instagram id (either of the two ids, in `authData` and, when igauth signs people in
//! itself, in the link class), run the operator's Cloud function, apply the
//! configured action, and keep the deletion request's status.
//!
//! Both callbacks are idempotent because Meta retries: the confirmation code is derived from the
//! signed payload, so a replay finds its own status; a settled request (`completed`, `no_data`)
//! is answered again without acting, and an unsettled one (`received`, `failed`) runs again.
//! Every step is safe to repeat (a user or session already gone counts as done).

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::json;

use crate::deletion_status::{DeletionStatuses, StoreError};
use crate::domain::{
    ConfirmationCode, DeletionRecord, DeletionStatus, IgId, Secret, SignedRequest,
    SignedRequestError,
};
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
    parse_configured: bool,
    on_deletion: ParseAction,
    on_deauthorize: ParseAction,
    function: Option<String>,
    statuses: DeletionStatuses,
    metrics: Arc<Metrics>,
    /// igauth links accounts itself (`IGAUTH_PARSE__SESSIONS`): look in the link class too.
    links: bool,
}

/// The Parse users an Instagram id names, and how.
#[derive(Debug, Default)]
struct Matched {
    /// Every user, once.
    users: Vec<String>,
    /// Those with `authData.instagram` (what an unlink must clear).
    by_auth_data: Vec<String>,
    /// Link rows (objectIds) naming the id.
    links: Vec<String>,
}

impl MetaCallbacks {
    pub(crate) fn new(
        settings: &Settings,
        shared: Option<SharedCache>,
        metrics: Arc<Metrics>,
    ) -> MetaCallbacks {
        let parse = &settings.parse;
        let parse_configured = settings.features.parse_api;
        let statuses = DeletionStatuses::new(parse_configured, shared);
        if settings.features.meta_callbacks {
            log::info!(
                "Meta callbacks: data-deletion statuses are kept {}",
                statuses.describe()
            );
        }
        MetaCallbacks {
            secret: settings.instagram.client_secret.clone(),
            status_base: settings.status_url_base(),
            parse_configured,
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
            links: settings.features.parse_sessions,
        }
    }

    /// The users `id` names: through `authData`, and through the link class when igauth links.
    async fn matched(&self, parse: &ParseClient, id: &IgId) -> Result<Matched, ParseError> {
        let by_auth_data = parse.find_users(id).await?;
        let mut matched = Matched {
            users: by_auth_data.clone(),
            by_auth_data,
            links: Vec::new(),
        };
        if self.links {
            for link in parse.find_links(id, true).await? {
                if !matched.users.contains(&link.user) {
                    matched.users.push(link.user);
                }
                matched.links.push(link.object_id);
            }
        }
        Ok(matched)
    }

    /// Whether `callback` can work at all; checked before the body is read.
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

    /// The signed request, verified with the app secret; counted when refused.
    fn verify(&self, callback: Callback, raw: &str) -> Result<SignedRequest, MetaError> {
        SignedRequest::verify(raw, self.secret.expose().as_bytes()).map_err(|e| {
            self.metrics.meta_callback(callback.label(), "invalid");
            log::warn!("Meta {} callback refused: {e}", callback.label());
            MetaError::Invalid(e)
        })
    }

    /// `POST /v1/meta/deauthorize`: the configured action on the matched users.
    pub(crate) async fn deauthorize(
        &self,
        parse: Option<&ParseClient>,
        raw: &str,
    ) -> Result<Deauthorized, MetaError> {
        self.ready(Callback::Deauthorize)?;
        let request = self.verify(Callback::Deauthorize, raw)?;
        let label = Callback::Deauthorize.label();
        let (Some(parse), action) = (parse, self.on_deauthorize) else {
            self.metrics.meta_callback(label, "no_action");
            log::info!("Meta deauthorize: verified; no Parse action configured");
            return Ok(Deauthorized { users: 0 });
        };
        if action == ParseAction::None {
            self.metrics.meta_callback(label, "no_action");
            log::info!("Meta deauthorize: verified; IGAUTH_PARSE__ON_DEAUTHORIZE=none");
            return Ok(Deauthorized { users: 0 });
        }
        let outcome = async {
            let matched = self.matched(parse, &request.user_id).await?;
            act(parse, action, &matched).await?;
            Ok::<_, ParseError>(matched.users.len())
        }
        .await;
        match outcome {
            Ok(users) => {
                let word = if users == 0 { "no_data" } else { "completed" };
                self.metrics.meta_callback(label, word);
                log::info!(
                    "Meta deauthorize: {} applied to {users} user(s)",
                    action.as_str()
                );
                Ok(Deauthorized { users })
            }
            Err(e) => {
                self.metrics.meta_callback(label, "failed");
                log::error!("Meta deauthorize: {} failed: {e}", action.as_str());
                Err(MetaError::Parse(e))
            }
        }
    }

    /// `POST /v1/meta/data-deletion`: the request's record (settled, or as far as it got) and
    /// its status URL.
    pub(crate) async fn data_deletion(
        &self,
        parse: Option<&ParseClient>,
        raw: &str,
    ) -> Result<(DeletionRecord, String), MetaError> {
        self.ready(Callback::DataDeletion)?;
        let request = self.verify(Callback::DataDeletion, raw)?;
        let code = request.confirmation_code(self.secret.expose().as_bytes(), "data_deletion");
        let url = format!("{}{code}", self.status_base.as_deref().unwrap_or_default());
        let label = Callback::DataDeletion.label();
        let parse = parse.filter(|_| self.parse_configured);
        let previous = self.statuses.read(parse, &code).await?;
        if let Some(settled) = previous.as_ref().filter(|r| r.status.is_final()) {
            self.metrics.meta_callback(label, settled.status.as_str());
            log::info!(
                "data deletion {code}: replayed; already {}",
                settled.status.as_str()
            );
            return Ok((settled.clone(), url));
        }
        let mut record = DeletionRecord::received(&code, now_ms(), self.on_deletion.as_str());
        if let Some(previous) = previous {
            record.requested_at_ms = previous.requested_at_ms;
        }
        self.statuses.write(parse, &record).await?;
        let record = self.run(parse, &request, &code, record).await;
        self.statuses.write(parse, &record).await?;
        self.metrics.meta_callback(label, record.status.as_str());
        log::info!(
            "data deletion {code}: {} user(s), {}",
            record.users,
            record.status.as_str()
        );
        Ok((record, url))
    }

    /// Find, function, action: the record as it ends.
    async fn run(
        &self,
        parse: Option<&ParseClient>,
        request: &SignedRequest,
        code: &ConfirmationCode,
        mut record: DeletionRecord,
    ) -> DeletionRecord {
        let Some(parse) = parse else {
            return settle(
                record,
                DeletionStatus::NoData,
                "igauth keeps no user data of its own (only short-lived token checks) and is \
                 not connected to an app database, so there was nothing to delete.",
            );
        };
        let matched = match self.matched(parse, &request.user_id).await {
            Ok(matched) => matched,
            Err(e) => {
                log::error!("data deletion {code}: finding the users failed: {e}");
                return settle(
                    record,
                    DeletionStatus::Failed,
                    "The app's database could not be searched; the request will be retried.",
                );
            }
        };
        record.users = matched.users.len();
        if let Some(function) = &self.function {
            let params = json!({
                "instagram_id": request.user_id.as_str(),
                "users": matched.users,
                "confirmation_code": code.as_str(),
            });
            if let Err(e) = parse.call_function(function, &params).await {
                log::error!(
                    "data deletion {code}: the Cloud function {function} failed ({e}); the \
                     built-in action did not run"
                );
                return settle(
                    record,
                    DeletionStatus::Failed,
                    "The app's own deletion step failed; nothing else was done. The request \
                     will be retried.",
                );
            }
            record.function_called = true;
        }
        if matched.users.is_empty() {
            return settle(
                record,
                DeletionStatus::NoData,
                "No account in this app is linked to this Instagram account.",
            );
        }
        match act(parse, self.on_deletion, &matched).await {
            Ok(()) => {
                let done = match self.on_deletion {
                    ParseAction::DeleteUser => {
                        "The linked account was deleted and signed out everywhere."
                    }
                    ParseAction::Unlink => {
                        "Instagram was unlinked from the account, which was signed out everywhere."
                    }
                    _ if record.function_called => {
                        "The app's own deletion step ran; no other action is configured."
                    }
                    _ => "The request was recorded; the app deletes nothing automatically.",
                };
                settle(record, DeletionStatus::Completed, done)
            }
            Err(e) => {
                log::error!(
                    "data deletion {code}: {} failed: {e}",
                    self.on_deletion.as_str()
                );
                let message = match e {
                    ParseError::UnlinkBug => e.to_string(),
                    _ => "The account could not be changed; the request will be retried.".into(),
                };
                settle(record, DeletionStatus::Failed, &message)
            }
        }
    }

    /// The record of `code`, wherever statuses are kept.
    pub(crate) async fn status(
        &self,
        parse: Option<&ParseClient>,
        code: &ConfirmationCode,
    ) -> Result<Option<DeletionRecord>, MetaError> {
        let parse = parse.filter(|_| self.parse_configured);
        Ok(self.statuses.read(parse, code).await?)
    }
}

/// Applies `action` to the matched users; sessions are revoked for every action but `none`.
/// Unlinking clears `authData.instagram` where it is and removes the link rows; deleting removes
/// users, their sessions and the link rows.
async fn act(
    parse: &ParseClient,
    action: ParseAction,
    matched: &Matched,
) -> Result<(), ParseError> {
    if matches!(action, ParseAction::Unlink | ParseAction::DeleteUser) {
        for link in &matched.links {
            parse.delete_link(link).await?;
        }
    }
    for user in &matched.users {
        match action {
            ParseAction::None => {}
            ParseAction::RevokeSessions => {
                parse.revoke_sessions(user).await?;
            }
            ParseAction::Unlink => {
                if matched.by_auth_data.contains(user) {
                    parse.unlink(user).await?;
                }
                parse.revoke_sessions(user).await?;
            }
            ParseAction::DeleteUser => {
                // Sessions first: if the deletion then fails, the person is at least signed out.
                parse.revoke_sessions(user).await?;
                parse.delete_user(user).await?;
            }
        }
    }
    Ok(())
}

fn settle(mut record: DeletionRecord, status: DeletionStatus, message: &str) -> DeletionRecord {
    record.status = status;
    record.completed_at_ms = status.is_final().then(now_ms);
    record.message = message.to_string();
    record
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}
