//! Carrying out a data deletion: find the users, record them, run the Cloud function, apply the
//! action, and keep the record as it goes. One run is the same whether it is the first (while
//! Meta waits) or one of igauth's retries: what an earlier run did is in the record (the users
//! it found, whether the function ran), so a later run finishes the work and counts the users
//! an earlier one already deleted.
//!
//! The record's message is for the person who asked, in plain words; what went wrong, and the
//! setting to change, goes to the operator's log only.

use serde_json::json;

use super::retry::{self, LEASE_MS};
use super::statuses::Row;
use super::{MetaCallbacks, MetaError};
use crate::clock::unix_ms as now_ms;
use crate::domain::{DeletionRecord, DeletionStatus, IgId};
use crate::parse_api::{ParseClient, ParseError};
use crate::settings::ParseAction;

/// What a run that does not finish tells the person.
const IN_PROGRESS: &str = "Your request was received and is being carried out. This can take a \
                           little while; this page shows when it is done.";
/// What a request still failing after a day tells the person.
const GAVE_UP: &str = "Your request could not be completed automatically. The app's team has \
                       been alerted and will complete it; you can also contact them.";

impl MetaCallbacks {
    /// One run of a pending deletion, and its record written where it lives: settled, or
    /// pending with its next run set (or `failed` after a day). `first` is Meta's own call: a
    /// record that cannot be written then is an error (Meta retries); later, the next sweep
    /// finds it still due.
    pub(super) async fn carry_out(
        &self,
        parse: Option<&ParseClient>,
        row: &mut Row,
        mut record: DeletionRecord,
        first: bool,
    ) -> Result<DeletionRecord, MetaError> {
        let code = record.confirmation_code.clone();
        let outcome = self.run(parse, row, &mut record).await;
        let label = super::Callback::DataDeletion.label();
        match outcome {
            Ok((status, message)) => {
                record = settle(record, status, message);
                record.pending = None;
                record.targets.clear();
                log::info!(
                    "data deletion {code}: {} user(s), {}",
                    record.users,
                    record.status.as_str()
                );
            }
            Err(Failure::Store(e)) if first => return Err(e.into()),
            Err(Failure::Store(e)) => {
                log::warn!(
                    "data deletion {code}: its record could not be kept ({}); retrying",
                    e.0
                );
                return Ok(record);
            }
            Err(Failure::Step(why)) => {
                let now = now_ms();
                let pending = record
                    .pending
                    .get_or_insert_with(|| crate::domain::Pending {
                        instagram_id: String::new(),
                        attempts: 0,
                        next_at_ms: now,
                    });
                pending.attempts = pending.attempts.saturating_add(1);
                pending.next_at_ms = now.saturating_add(retry::backoff_ms(pending.attempts));
                let attempts = pending.attempts;
                if now.saturating_sub(record.requested_at_ms) >= retry::GIVE_UP_AFTER_MS {
                    log::error!(
                        "data deletion {code}: still failing after a day and {attempts} runs \
                         ({why}); igauth stopped retrying. Fix the cause, then carry it out by \
                         hand: the users are those Parse finds under the Instagram id Meta sent"
                    );
                    self.metrics.meta_deletion_gave_up();
                    record = settle(record, DeletionStatus::Failed, GAVE_UP);
                    record.pending = None;
                    record.targets.clear();
                } else {
                    log::error!(
                        "data deletion {code}: run {attempts} did not finish ({why}); igauth \
                         retries it in {} s",
                        retry::backoff_ms(attempts) / 1000
                    );
                    record.status = DeletionStatus::Received;
                    record.message = IN_PROGRESS.into();
                    self.wake_at(now.saturating_add(retry::backoff_ms(attempts)));
                }
            }
        }
        self.metrics.meta_callback(label, record.status.as_str());
        if let Err(e) = self.statuses.write(parse, row, &record).await {
            if first && record.pending.is_none() && record.status != DeletionStatus::Failed {
                // Done, but the record says otherwise: the next sweep finds it pending and
                // finishes it (its users are recorded), so Meta is answered now.
                log::warn!(
                    "data deletion {code}: done, but the final record was not kept ({}); a \
                     retry settles it",
                    e.0
                );
            } else {
                log::warn!(
                    "data deletion {code}: its record could not be kept ({})",
                    e.0
                );
            }
            self.wake_at(now_ms().saturating_add(LEASE_MS));
        }
        Ok(record)
    }

    /// Find (and record), function, action: how the request ends, or why this run did not.
    async fn run(
        &self,
        parse: Option<&ParseClient>,
        row: &mut Row,
        record: &mut DeletionRecord,
    ) -> Result<(DeletionStatus, &'static str), Failure> {
        let code = record.confirmation_code.clone();
        let Some(parse) = parse else {
            self.statuses.write(parse, row, record).await?;
            return Ok((
                DeletionStatus::NoData,
                "This sign-in service keeps no data about you beyond short-lived checks, and \
                 no app account is connected to it, so there was nothing to delete.",
            ));
        };
        let id = record
            .pending
            .as_ref()
            .and_then(|p| IgId::parse(&p.instagram_id).ok());
        let found = match &id {
            Some(id) => matched(parse, id, self.links).await,
            None => Err(ParseError::Unusable),
        };
        if let Ok(found) = &found {
            for user in &found.users {
                if !record.targets.contains(user) {
                    record.targets.push(user.clone());
                }
            }
            record.users = record.targets.len();
        }
        // Recorded before anything is done: whom it acts on, and that it is under way.
        self.statuses.write(Some(parse), row, record).await?;
        let found = found.map_err(|e| Failure::Step(format!("finding the users failed: {e}")))?;
        if let Some(function) = self.function.as_ref().filter(|_| !record.function_called) {
            let params = json!({
                "instagram_id": id.as_ref().map(IgId::as_str),
                "users": record.targets,
                "confirmation_code": code,
            });
            parse.call_function(function, &params).await.map_err(|e| {
                Failure::Step(format!(
                    "the Cloud function {function} failed ({e}); the built-in action did not run"
                ))
            })?;
            record.function_called = true;
        }
        if record.targets.is_empty() {
            return Ok((
                DeletionStatus::NoData,
                "No account in this app is linked to your Instagram account, so there was \
                 nothing to delete.",
            ));
        }
        // Everyone an earlier run found too: a retry finishes what that run began.
        let targets = Matched {
            users: record.targets.clone(),
            ..found
        };
        act(parse, self.on_deletion, &targets)
            .await
            .map_err(|e| Failure::Step(format!("{} failed: {e}", self.on_deletion.as_str())))?;
        Ok((
            DeletionStatus::Completed,
            match self.on_deletion {
                ParseAction::DeleteUser => {
                    "The account linked to your Instagram account was deleted, and you were \
                     signed out everywhere."
                }
                ParseAction::Unlink => {
                    "Your Instagram account was unlinked from your account in this app, and you \
                     were signed out everywhere."
                }
                _ if record.function_called => {
                    "The data linked to your Instagram account was deleted."
                }
                _ => "Your request was recorded and passed on to the app's team.",
            },
        ))
    }
}

/// Why a run did not finish.
enum Failure {
    /// The record could not be kept: nothing was done after that.
    Store(super::statuses::StoreError),
    /// A step failed; the operator's words for it.
    Step(String),
}

impl From<super::statuses::StoreError> for Failure {
    fn from(e: super::statuses::StoreError) -> Failure {
        Failure::Store(e)
    }
}

/// The Parse users an Instagram id names, and how.
#[derive(Debug, Default)]
pub(super) struct Matched {
    /// Every user, once.
    pub(super) users: Vec<String>,
    /// Those found by `authData.instagram.id` (what an unlink must clear).
    by_auth_data: Vec<String>,
    /// Link rows (objectIds) naming the id, when igauth signs people in itself.
    links: Vec<String>,
}

/// The users `id` names: by `authData.instagram.id` (what Parse's adapter or igauth's trigger
/// checked at signup), and through the link class igauth itself writes when `links`.
pub(super) async fn matched(
    parse: &ParseClient,
    id: &IgId,
    links: bool,
) -> Result<Matched, ParseError> {
    let by_auth_data = parse.find_users(id).await?;
    let mut matched = Matched {
        users: by_auth_data.clone(),
        by_auth_data,
        links: Vec::new(),
    };
    if links {
        for link in parse.find_links(id, true).await? {
            if !matched.users.contains(&link.user) {
                matched.users.push(link.user);
            }
            matched.links.push(link.object_id);
        }
    }
    Ok(matched)
}

/// Applies `action` to the matched users; sessions are revoked for every action but `none`.
/// Unlinking clears `authData.instagram` where it is and removes the link rows; deleting removes
/// users, their sessions and the link rows.
pub(super) async fn act(
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

pub(super) fn settle(
    mut record: DeletionRecord,
    status: DeletionStatus,
    message: &str,
) -> DeletionRecord {
    record.status = status;
    record.completed_at_ms = status.is_final().then(now_ms);
    record.message = message.to_string();
    record
}
