//! Signing people into Parse without any `auth` option in Parse (`IGAUTH_PARSE__SESSIONS`): the
//! use case behind the session fields of `/v1/token` and `/v1/exchange`.
//!
//! Whose account it is comes from Instagram's `/me` (the login's [`TokenOwner`]). The Parse user
//! is found through the link class (master key only, matched on the app-scoped id), or among
//! users who signed up through Parse's own adapter (`authData.instagram.id`, then linked), or
//! is the logged-in user whose session token the app sent (linking), or is created. Then a
//! session is created for that user with the master key.
//!
//! One user per account, even when one person's first login arrives many times at once on many
//! replicas: sign-ins of one account run one at a time ([`lock`]), the link is looked up again
//! under the lock, and after creating a link the oldest link wins: a sign-in that lost a race
//! removes its own link and user and uses the winner's. A user created but not linked is
//! deleted again, so Parse trouble leaves nothing half-made; a session is created only for the
//! user the link (or the checked session token) names.

mod lock;

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use ring::rand::{SecureRandom, SystemRandom};

use crate::clock::{millis, unix_ms as now_ms};
use crate::domain::{iso8601, IgId, TokenOwner};
use crate::exchange::ExchangeError;
use crate::parse_api::{NewUser, ParseClient, ParseError};
use crate::settings::Settings;
use crate::shared_cache::SharedCache;
use lock::AccountLocks;

/// A session igauth created: what the app passes to `become`.
/// Debug shows no token: a `{:?}` of it must not put a session in a log.
pub(crate) struct SignedIn {
    pub(crate) session_token: String,
    pub(crate) object_id: String,
    /// The user was created by this sign-in.
    pub(crate) is_new: bool,
}

/// Why no session was made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SessionError {
    /// The Instagram account is linked to another Parse user than the one asking to link it.
    AlreadyLinked,
    /// The `X-Parse-Session-Token` sent to link with is not a live session.
    InvalidSessionToken,
    /// Parse did not do what was asked.
    Parse(ParseError),
    /// No randomness for a password or token.
    NoRandomness,
}

/// What the app sent for its session, beside the code.
#[derive(Default)]
pub(crate) struct SessionRequest {
    /// `X-Parse-Session-Token` of a logged-in user: link the account to that user.
    pub(crate) link_to: Option<String>,
    /// Parse's installation id of the app, recorded in the session.
    pub(crate) installation_id: Option<String>,
}

/// A [`SessionRequest`] whose link target Parse confirmed: the logged-in user's objectId.
pub(crate) struct Checked<'r> {
    asking: Option<String>,
    installation_id: Option<&'r str>,
}

impl std::fmt::Debug for SignedIn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignedIn")
            .field("session_token", &"[redacted]")
            .field("object_id", &self.object_id)
            .field("is_new", &self.is_new)
            .finish()
    }
}

impl std::fmt::Debug for SessionRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionRequest")
            .field("link_to", &self.link_to.as_ref().map(|_| "[redacted]"))
            .field("installation_id", &self.installation_id)
            .finish()
    }
}

/// Why a login did not end in its answer: the code (exchanged or handed off) failed, or the
/// Parse session did.
#[derive(Debug)]
pub(crate) enum SignInError {
    Exchange(ExchangeError),
    /// A handoff code that is unknown, used, expired or not bound to the verifier.
    InvalidGrant,
    Session(SessionError),
}

impl From<ExchangeError> for SignInError {
    fn from(e: ExchangeError) -> Self {
        SignInError::Exchange(e)
    }
}

impl From<SessionError> for SignInError {
    fn from(e: SessionError) -> Self {
        SignInError::Session(e)
    }
}

impl From<ParseError> for SessionError {
    fn from(e: ParseError) -> Self {
        SessionError::Parse(e)
    }
}

pub(crate) struct ParseSessions {
    length: Duration,
    locks: AccountLocks,
    /// The link class's permissions were checked by this process.
    link_class_ready: AtomicBool,
}

impl ParseSessions {
    /// `None` unless sessions are turned on and Parse is reachable.
    pub(crate) fn new(settings: &Settings, shared: Option<SharedCache>) -> Option<ParseSessions> {
        settings.features.parse_sessions.then(|| ParseSessions {
            length: Duration::from_secs(settings.parse.session_length_secs),
            // Waiting on another replica longer than a Parse call's deadline gains nothing.
            locks: AccountLocks::new(shared, Duration::from_millis(settings.parse.timeout_ms)),
            link_class_ready: AtomicBool::new(false),
        })
    }

    /// Checks what the app sent for its session before the login's code is spent: a stale
    /// `X-Parse-Session-Token` is answered 401 while the app can still retry with the same code.
    pub(crate) async fn check<'r>(
        &self,
        parse: &ParseClient,
        request: &'r SessionRequest,
    ) -> Result<Checked<'r>, SessionError> {
        let asking = match request.link_to.as_deref() {
            Some(token) => Some(
                parse
                    .user_of_session(token)
                    .await?
                    .ok_or(SessionError::InvalidSessionToken)?,
            ),
            None => None,
        };
        Ok(Checked {
            asking,
            installation_id: request.installation_id.as_deref(),
        })
    }

    /// Finds (or creates, or links) the Parse user of `owner`'s account and opens a session.
    pub(crate) async fn sign_in(
        &self,
        parse: &ParseClient,
        owner: &TokenOwner,
        checked: &Checked<'_>,
    ) -> Result<SignedIn, SessionError> {
        let id = IgId::parse(owner.id()).map_err(|_| ParseError::Unusable)?;
        let asking = checked.asking.as_deref();
        let guard = self.locks.lock(id.as_str()).await;
        let found = self.user_of(parse, owner, &id, asking).await;
        guard.release().await;
        let (user, is_new) = found?;
        let session_token = format!("r:{}", random_hex(32)?);
        let expires_at = iso8601(now_ms().saturating_add(millis(self.length)));
        parse
            .create_session(&user, &session_token, &expires_at, checked.installation_id)
            .await?;
        Ok(SignedIn {
            session_token,
            object_id: user,
            is_new,
        })
    }

    /// The account's user (and whether it was created now), under the account's lock.
    async fn user_of(
        &self,
        parse: &ParseClient,
        owner: &TokenOwner,
        id: &IgId,
        asking: Option<&str>,
    ) -> Result<(String, bool), SessionError> {
        // Closed to clients before any row of it is read (rows are believed by their MAC too).
        if !self.link_class_ready.load(Ordering::Acquire) {
            parse.ensure_link_class().await?;
            self.link_class_ready.store(true, Ordering::Release);
        }
        let belongs = |user: String| match asking {
            Some(asker) if asker != user => Err(SessionError::AlreadyLinked),
            _ => Ok((user, false)),
        };
        if let Some(link) = parse.find_links(id, false).await?.into_iter().next() {
            return belongs(link.user);
        }
        // Signed up earlier through Parse's own adapter: keep that user.
        if let Some(user) = parse.find_users(id).await?.into_iter().next() {
            let user = belongs(user)?.0;
            return self.link(parse, owner, id, &user, false, asking).await;
        }
        match asking {
            Some(user) => self.link(parse, owner, id, user, false, asking).await,
            None => {
                let user = self.create_user_named(parse, owner, id, false).await?;
                match user {
                    Some(user) => self.link(parse, owner, id, &user, true, None).await,
                    // The name was taken by a sign-in that got here first: its link is the answer.
                    None => match parse.find_links(id, false).await?.into_iter().next() {
                        Some(link) => Ok((link.user, false)),
                        None => {
                            let user = self.create_user_named(parse, owner, id, true).await?;
                            let user = user.ok_or(ParseError::Unusable)?;
                            self.link(parse, owner, id, &user, true, None).await
                        }
                    },
                }
            }
        }
    }

    /// Links the account to `user`, then re-reads: if an older link exists (a race lost while
    /// Redis could not keep replicas apart), ours and the user made for it go, and the winner's
    /// user is the answer, unless a logged-in user (`asking`) wanted the account for itself:
    /// then it is linked to someone else, and no session is made for that someone.
    async fn link(
        &self,
        parse: &ParseClient,
        owner: &TokenOwner,
        id: &IgId,
        user: &str,
        created: bool,
        asking: Option<&str>,
    ) -> Result<(String, bool), SessionError> {
        let ours = match parse.create_link(user, owner).await {
            Ok(ours) => ours,
            Err(e) => {
                if created {
                    self.undo_user(parse, user).await;
                }
                return Err(e.into());
            }
        };
        let winner = parse.find_links(id, false).await?.into_iter().next();
        match winner {
            Some(winner) if winner.object_id != ours => {
                log::warn!("Parse sign-in: a concurrent first login linked this account first; using its user");
                parse.delete_link(&ours).await?;
                if created {
                    self.undo_user(parse, user).await;
                }
                match asking {
                    Some(asker) if asker != winner.user => Err(SessionError::AlreadyLinked),
                    _ => Ok((winner.user, false)),
                }
            }
            _ => Ok((user.to_string(), created)),
        }
    }

    /// `instagram-<id>`: people rarely choose it, and when one did (or a racing sign-in took it),
    /// `with_suffix` adds random characters. A user found by this name is never adopted: only
    /// the link says whose a user is.
    async fn create_user_named(
        &self,
        parse: &ParseClient,
        owner: &TokenOwner,
        id: &IgId,
        with_suffix: bool,
    ) -> Result<Option<String>, SessionError> {
        let mut username = format!("instagram-{}", id.as_str());
        if with_suffix {
            username = format!("{username}-{}", random_hex(4)?);
        }
        let password = random_hex(32)?;
        match parse
            .create_user(&username, &password, owner.username())
            .await?
        {
            NewUser::Created(user) => Ok(Some(user)),
            NewUser::UsernameTaken => Ok(None),
        }
    }

    /// Deletes a user this sign-in made and could not keep; a failure is logged (the user has no
    /// link, no session and a password nobody knows).
    async fn undo_user(&self, parse: &ParseClient, user: &str) {
        if let Err(e) = parse.delete_user(user).await {
            log::error!("Parse sign-in: could not delete the unlinked user {user} it created: {e}");
        }
    }
}

fn random_hex(bytes: usize) -> Result<String, SessionError> {
    let mut buf = vec![0u8; bytes];
    SystemRandom::new()
        .fill(&mut buf)
        .map_err(|_| SessionError::NoRandomness)?;
    Ok(buf.iter().map(|b| format!("{b:02x}")).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_tokens_never_show_in_debug() {
        let signed_in = SignedIn {
            session_token: "r:0123456789abcdef".into(),
            object_id: "u1".into(),
            is_new: true,
        };
        let request = SessionRequest {
            link_to: Some("r:fedcba9876543210".into()),
            installation_id: None,
        };
        let shown = format!("{signed_in:?} {request:?}");
        assert!(!shown.contains("0123456789abcdef") && !shown.contains("fedcba9876543210"));
        assert!(shown.contains("u1"), "{shown}");
    }
}
