//! `igauth meta-test <deauthorize|data-deletion> <instagram-id> [--url URL]`: signs a Meta
//! `signed_request` with the configured client secret, exactly as Meta does, and posts it to a
//! running igauth (its own `IGAUTH_SERVER__PUBLIC_URL` unless `--url` says otherwise). The
//! operator tries the whole compliance path, Parse included, before Meta does.

use std::process::ExitCode;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use ring::hmac;

use crate::domain::IgId;
use crate::settings::Settings;

/// How long the running igauth gets to answer.
const DEADLINE: Duration = Duration::from_secs(15);

/// What to send, and where.
pub(super) struct Request {
    /// `deauthorize` or `data-deletion`: the route's last segment.
    kind: &'static str,
    user_id: IgId,
    url: Option<String>,
}

impl Request {
    pub(super) fn parse(args: &[String]) -> Result<Request, String> {
        let mut url = None;
        let mut words = Vec::new();
        for arg in args {
            match arg.strip_prefix("--url=") {
                Some(u) => url = Some(u.trim_end_matches('/').to_string()),
                None => words.push(arg.as_str()),
            }
        }
        let [kind, id] = words[..] else {
            return Err("meta-test needs <deauthorize|data-deletion> <instagram-id>".into());
        };
        let kind = match kind {
            "deauthorize" => "deauthorize",
            "data-deletion" => "data-deletion",
            other => {
                return Err(format!(
                    "meta-test: {other:?} is not a callback; use deauthorize or data-deletion"
                ))
            }
        };
        let user_id = IgId::parse(id)
            .map_err(|_| format!("meta-test: {id:?} is not an Instagram id (digits only)"))?;
        Ok(Request { kind, user_id, url })
    }
}

pub(super) fn meta_test(settings: &Settings, request: &Request) -> ExitCode {
    let secret = &settings.instagram.client_secret;
    if !secret.is_set() {
        eprintln!(
            "igauth meta-test: IGAUTH_INSTAGRAM__CLIENT_SECRET is not set, so there is nothing to \
             sign with (Meta signs with the Instagram app secret)"
        );
        return ExitCode::from(2);
    }
    let Some(base) = request.url.clone().or_else(|| settings.public_base()) else {
        eprintln!(
            "igauth meta-test: set IGAUTH_SERVER__PUBLIC_URL or pass --url with the running \
             igauth's base URL"
        );
        return ExitCode::from(2);
    };
    let url = format!("{base}/v1/meta/{}", request.kind);
    let signed = sign(secret.expose().as_bytes(), &request.user_id, now_secs());
    println!(
        "POST {url} (signed_request for Instagram id {})",
        request.user_id.as_str()
    );
    let _ = rustls::crypto::ring::default_provider().install_default();
    let outcome = actix_web::rt::System::new().block_on(async move {
        let client = awc::Client::builder()
            .timeout(DEADLINE)
            .disable_redirects()
            .finish();
        let mut res = client
            .post(&url)
            .send_form(&[("signed_request", signed.as_str())])
            .await
            .map_err(|e| format!("igauth did not answer at {url}: {e}"))?;
        let body = res
            .body()
            .limit(64 * 1024)
            .await
            .map_err(|e| format!("igauth's answer could not be read: {e}"))?;
        Ok::<_, String>((res.status().as_u16(), body))
    });
    let (status, body) = match outcome {
        Ok(answer) => answer,
        Err(message) => {
            eprintln!("igauth meta-test: {message}");
            return ExitCode::FAILURE;
        }
    };
    let text = String::from_utf8_lossy(&body);
    println!("HTTP {status}");
    if !text.is_empty() {
        println!("{text}");
    }
    if !(200..300).contains(&status) {
        eprintln!("igauth meta-test: igauth refused the callback (HTTP {status})");
        return ExitCode::FAILURE;
    }
    let answer: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
    if let Some(status_url) = answer.get("url").and_then(|u| u.as_str()) {
        println!("status: {status_url}");
    }
    ExitCode::SUCCESS
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// `<sig>.<payload>` as Meta builds it: the payload in unpadded base64url, signed (HMAC-SHA256
/// with the app secret) as encoded.
fn sign(secret: &[u8], user_id: &IgId, issued_at: u64) -> String {
    let payload = serde_json::json!({
        "algorithm": "HMAC-SHA256",
        "issued_at": issued_at,
        "user_id": user_id.as_str(),
    });
    let encoded = URL_SAFE_NO_PAD.encode(payload.to_string());
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret);
    let signature = URL_SAFE_NO_PAD.encode(hmac::sign(&key, encoded.as_bytes()).as_ref());
    format!("{signature}.{encoded}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::SignedRequest;

    #[test]
    fn what_it_signs_verifies_as_metas_would() {
        let id = IgId::parse("17841400000000001").unwrap();
        let signed = sign(b"app-secret", &id, now_secs());
        let verified = SignedRequest::verify(&signed, b"app-secret").unwrap();
        assert_eq!(verified.user_id, id);
        assert!(SignedRequest::verify(&signed, b"other-secret").is_err());
    }

    #[test]
    fn arguments() {
        let args = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let r = Request::parse(&args(&["data-deletion", "123", "--url=http://x:1/"])).unwrap();
        assert_eq!(
            (r.kind, r.url.as_deref()),
            ("data-deletion", Some("http://x:1"))
        );
        assert!(Request::parse(&args(&["delete", "123"])).is_err());
        assert!(Request::parse(&args(&["deauthorize", "12a"])).is_err());
        assert!(Request::parse(&args(&["deauthorize"])).is_err());
    }
}
