//! Parse's REST API for signing people in without any `auth` option in Parse: the link class
//! (which Parse user an Instagram account belongs to, master key only), users created with the
//! master key (never with `authData`: Parse >= 8 validates any authData write with the
//! provider's adapter, and a Parse without `auth.instagram` has none), sessions created with the
//! master key, and the user behind a session token (`GET /users/me`, with that token alone).
//!
//! A link row decides whose session a login gets, so it is believed only with its MAC: an
//! HMAC-SHA256, keyed with the master key, of the Instagram id and the user it links. A row
//! igauth did not write (planted while the class was open to clients, or edited since) is
//! ignored.

use actix_web::http::Method;
use serde_json::{json, Value};

use super::{
    checked_id, ParseClient, ParseError, INVALID_SESSION_TOKEN, OBJECT_NOT_FOUND, USERNAME_TAKEN,
};
use crate::domain::{IgId, TokenOwner};

/// The class that links an Instagram account to a Parse user; master key only.
pub(crate) const LINK_CLASS: &str = "InstagramAccount";

/// One row of the link class.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Link {
    pub(crate) object_id: String,
    /// The linked `_User`'s objectId.
    pub(crate) user: String,
}

/// What creating a user came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum NewUser {
    Created(String),
    /// The user name is taken (by a racing sign-in, or by a person).
    UsernameTaken,
}

impl ParseClient {
    /// Makes sure the link class exists, closed to everyone but the master key.
    pub(crate) async fn ensure_link_class(&self) -> Result<(), ParseError> {
        let fields = json!({
            "user": {"type": "Pointer", "targetClass": "_User"},
            "instagramId": {"type": "String"},
            "instagramUserId": {"type": "String"},
            "username": {"type": "String"},
            "mac": {"type": "String"},
        });
        self.ensure_private_class(LINK_CLASS, &fields).await
    }

    /// The links of the account `id` (its app-scoped id; with `or_user_id`, its
    /// professional-account id too), oldest first: the first is the one that counts.
    pub(crate) async fn find_links(
        &self,
        id: &IgId,
        or_user_id: bool,
    ) -> Result<Vec<Link>, ParseError> {
        let filter = if or_user_id {
            json!({"$or": [{"instagramId": id.as_str()}, {"instagramUserId": id.as_str()}]})
        } else {
            json!({"instagramId": id.as_str()})
        };
        let rows = self
            .query_ordered(
                "find_links",
                &format!("/classes/{LINK_CLASS}"),
                &filter.to_string(),
                "createdAt,objectId",
            )
            .await?;
        let believed = |row: &Value| {
            let object_id = checked_id(row.get("objectId")?.as_str()?).ok()?;
            let user = checked_id(row.get("user")?.get("objectId")?.as_str()?).ok()?;
            let instagram_id = row.get("instagramId")?.as_str()?;
            let mac = row.get("mac")?.as_str()?;
            if !self
                .up
                .link_mac
                .verifies(&link_text(instagram_id, user), mac)
            {
                return None;
            }
            Some(Link {
                object_id: object_id.to_string(),
                user: user.to_string(),
            })
        };
        let links: Vec<Link> = rows.iter().filter_map(believed).collect();
        if links.len() < rows.len() {
            log::warn!(
                "Parse sign-in: {} {LINK_CLASS} row(s) for one account lack igauth's MAC and were \
                 ignored (written by something else than igauth; the class must be master-key \
                 only)",
                rows.len() - links.len()
            );
        }
        Ok(links)
    }

    /// Links `owner`'s account to `user`; the link's objectId.
    pub(crate) async fn create_link(
        &self,
        user: &str,
        owner: &TokenOwner,
    ) -> Result<String, ParseError> {
        let user = checked_id(user)?;
        let body = json!({
            "user": pointer(user),
            "instagramId": owner.id(),
            "instagramUserId": owner.user_id(),
            "username": owner.username(),
            "mac": self.up.link_mac.tag(&link_text(owner.id(), user)),
        });
        let path = format!("/classes/{LINK_CLASS}");
        let made = self
            .call("create_link", Method::POST, &path, Some(&body))
            .await?;
        created_id(&made)
    }

    /// Deletes a link; already gone is done.
    pub(crate) async fn delete_link(&self, link: &str) -> Result<(), ParseError> {
        let path = format!("/classes/{LINK_CLASS}/{}", checked_id(link)?);
        match self.call("delete_link", Method::DELETE, &path, None).await {
            Ok(_) | Err(ParseError::Refused(_, Some(OBJECT_NOT_FOUND))) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Creates a user with the master key: `username`, a `password` nobody is told, and the
    /// Instagram user name in `instagramUsername` (readable by the user; the ACL Parse gives a
    /// user created with the master key is the user alone).
    pub(crate) async fn create_user(
        &self,
        username: &str,
        password: &str,
        instagram_username: Option<&str>,
    ) -> Result<NewUser, ParseError> {
        let body = json!({
            "username": username,
            "password": password,
            "instagramUsername": instagram_username,
        });
        match self
            .call("create_user", Method::POST, "/classes/_User", Some(&body))
            .await
        {
            Ok(made) => created_id(&made).map(NewUser::Created),
            Err(ParseError::Refused(_, Some(USERNAME_TAKEN))) => Ok(NewUser::UsernameTaken),
            Err(e) => Err(e),
        }
    }

    /// The objectId of the user a session token belongs to; `None` when Parse does not know the
    /// token (or it expired). Asked with the token alone, never with the master key.
    pub(crate) async fn user_of_session(&self, token: &str) -> Result<Option<String>, ParseError> {
        match self
            .call_as("session_user", Method::GET, "/users/me", None, Some(token))
            .await
        {
            Ok(me) => {
                let me: Value = serde_json::from_slice(&me).map_err(|_| ParseError::Unusable)?;
                let id = me.get("objectId").and_then(Value::as_str);
                Ok(Some(
                    checked_id(id.ok_or(ParseError::Unusable)?)?.to_string(),
                ))
            }
            Err(ParseError::Refused(_, Some(INVALID_SESSION_TOKEN | OBJECT_NOT_FOUND))) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Creates a session for `user` with the master key, as a login through Instagram would
    /// have: `createdWith {action: login, authProvider: instagram}`, unrestricted, expiring at
    /// `expires_at` (ISO 8601), with the app's installation id when it sent one.
    pub(crate) async fn create_session(
        &self,
        user: &str,
        token: &str,
        expires_at: &str,
        installation_id: Option<&str>,
    ) -> Result<(), ParseError> {
        let mut body = json!({
            "user": pointer(checked_id(user)?),
            "sessionToken": token,
            "expiresAt": {"__type": "Date", "iso": expires_at},
            "createdWith": {"action": "login", "authProvider": "instagram"},
            "restricted": false,
        });
        if let (Some(id), Some(map)) = (installation_id, body.as_object_mut()) {
            map.insert("installationId".into(), Value::String(id.to_string()));
        }
        self.call(
            "create_session",
            Method::POST,
            "/classes/_Session",
            Some(&body),
        )
        .await
        .map(drop)
    }
}

/// What a link row's MAC covers: the Instagram id and the user it is linked to.
fn link_text(instagram_id: &str, user: &str) -> String {
    format!("{instagram_id}\n{user}")
}

fn pointer(user: &str) -> Value {
    json!({"__type": "Pointer", "className": "_User", "objectId": user})
}

/// The objectId of a `201 Created` answer.
fn created_id(body: &[u8]) -> Result<String, ParseError> {
    let made: Value = serde_json::from_slice(body).map_err(|_| ParseError::Unusable)?;
    let id = made
        .get("objectId")
        .and_then(Value::as_str)
        .ok_or(ParseError::Unusable)?;
    Ok(checked_id(id)?.to_string())
}
