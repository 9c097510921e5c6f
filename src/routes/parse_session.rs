//! The Parse session that `/v1/token` and `/v1/exchange` add to their answer when igauth signs
//! people into Parse (`IGAUTH_PARSE__SESSIONS`): what the app may send for it (the session token
//! of a logged-in user to link to, its installation id), and what it gets (`sessionToken`,
//! `objectId`, `isNew`, beside the authData).

use actix_web::{web, HttpRequest};
use serde::Serialize;

use super::body::Fields;
use crate::domain::TokenOwner;
use crate::error::ApiError;
use crate::parse_api::ParseClient;
use crate::sessions::SessionError;
use crate::state::AppState;

/// Parse's installation ids are UUIDs; this bounds what is passed on.
const MAX_INSTALLATION_ID: usize = 64;

/// What the app sent for its session.
pub(crate) struct SessionRequest {
    /// `X-Parse-Session-Token`: link the account to this logged-in user.
    link_to: Option<String>,
    /// `installation_id`: Parse's installation id of the app, recorded in the session.
    installation_id: Option<String>,
}

impl SessionRequest {
    pub(crate) fn read(req: &HttpRequest, fields: &Fields) -> Result<SessionRequest, ApiError> {
        let link_to = match req.headers().get("x-parse-session-token") {
            None => None,
            Some(value) => Some(
                value
                    .to_str()
                    .ok()
                    .map(str::trim)
                    .filter(|t| !t.is_empty() && t.len() <= 256)
                    .ok_or_else(|| {
                        ApiError::InvalidRequest(
                            "X-Parse-Session-Token must be a Parse session token".into(),
                        )
                    })?
                    .to_string(),
            ),
        };
        let installation_id = fields.string("installation_id")?;
        if let Some(id) = &installation_id {
            if id.is_empty()
                || id.len() > MAX_INSTALLATION_ID
                || !id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            {
                return Err(ApiError::InvalidRequest(
                    "installation_id must be the app's Parse installation id (letters, digits \
                     and -, at most 64)"
                        .into(),
                ));
            }
        }
        Ok(SessionRequest {
            link_to,
            installation_id,
        })
    }
}

/// The session fields of an answer.
#[derive(Serialize)]
pub(crate) struct SessionOut {
    #[serde(rename = "sessionToken")]
    session_token: String,
    #[serde(rename = "objectId")]
    object_id: String,
    #[serde(rename = "isNew")]
    is_new: bool,
}

/// Signs `owner` into Parse when sessions are on; `None` when they are off.
pub(crate) async fn sign_in(
    state: &AppState,
    parse: &web::Data<Option<ParseClient>>,
    owner: &TokenOwner,
    request: &SessionRequest,
) -> Result<Option<SessionOut>, ApiError> {
    let (Some(sessions), Some(parse)) = (&state.sessions, parse.as_ref().as_ref()) else {
        return Ok(None);
    };
    let signed_in = sessions
        .sign_in(
            parse,
            owner,
            request.link_to.as_deref(),
            request.installation_id.as_deref(),
        )
        .await
        .map_err(|e| match e {
            SessionError::AlreadyLinked => ApiError::AlreadyLinked,
            SessionError::InvalidSessionToken => ApiError::InvalidSessionToken,
            SessionError::Parse(e) => {
                log::error!("Parse sign-in failed: {e}");
                ApiError::Parse(e)
            }
            SessionError::NoRandomness => ApiError::LoginFlowNotConfigured,
        })?;
    Ok(Some(SessionOut {
        session_token: signed_in.session_token,
        object_id: signed_in.object_id,
        is_new: signed_in.is_new,
    }))
}
