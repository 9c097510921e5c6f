//! `igauth setup`: what to paste into Meta's App Dashboard and into Parse, computed from the
//! configuration igauth sees. A guide, not a gate: whatever is still missing is shown as the
//! variable to set, and it always exits 0 (`check-config` and `doctor` are the gates).

use std::fmt::Write;
use std::process::ExitCode;

use crate::domain::Secret;
use crate::settings::Settings;

pub(super) fn setup(settings: &Settings) -> ExitCode {
    print!("{}", guide(settings));
    ExitCode::SUCCESS
}

/// `<set VAR>`: the marker for a value igauth cannot know until VAR is set.
fn missing(var: &str) -> String {
    format!("<set {var}>")
}

/// A plain setting as the guide shows it: its value, or the marker naming `var`.
fn shown(var: &str, value: &str) -> String {
    if value.is_empty() {
        missing(var)
    } else {
        value.to_string()
    }
}

/// A secret setting as the guide shows it: never its value, only whether it is set.
fn shown_secret(var: &str, secret: &Secret) -> String {
    if secret.is_set() {
        "(set)".to_string()
    } else {
        missing(var)
    }
}

/// The whole guide, as text.
fn guide(settings: &Settings) -> String {
    let ig = &settings.instagram;
    let base_var = "IGAUTH_SERVER__PUBLIC_URL";
    let base = settings.public_base();
    // The path stays visible when the base is missing: the reader sees what goes where.
    let at = |path: &str| match &base {
        Some(base) => format!("{base}{path}"),
        None => format!("{}{path}", missing(base_var)),
    };
    let callback = shown("IGAUTH_INSTAGRAM__CALLBACK_URL", &ig.callback_url);
    // Lines of a label and the URL of one of igauth's paths (labels padded to line URLs up).
    let urls = |w: &mut String, rows: &[(&str, &str)]| {
        for (label, path) in rows {
            let _ = writeln!(w, "  {label}{}", at(path));
        }
    };
    let mut out = String::new();
    let w = &mut out;
    let _ = writeln!(
        w,
        "igauth setup: what to paste where, from the configuration igauth sees now."
    );
    let _ = writeln!(
        w,
        "Anything igauth cannot know yet is shown as <set THE_VARIABLE_TO_SET>."
    );
    let _ = writeln!(w);
    let _ = writeln!(
        w,
        "== Meta App Dashboard: your app > Instagram > API setup with Instagram login"
    );
    let _ = writeln!(
        w,
        "   > Set up Instagram business login > Business login settings"
    );
    let _ = writeln!(
        w,
        "  OAuth redirect URIs (Valid OAuth Redirect URIs): {callback}"
    );
    urls(
        w,
        &[
            (
                "Deauthorize callback URL:                       ",
                "/v1/meta/deauthorize",
            ),
            (
                "Data deletion request URL:                      ",
                "/v1/meta/data-deletion",
            ),
        ],
    );
    let _ = writeln!(
        w,
        "  From that page, the Instagram app ID and Instagram app secret (not the Meta app's):"
    );
    let _ = writeln!(
        w,
        "    IGAUTH_INSTAGRAM__CLIENT_ID={}",
        shown("IGAUTH_INSTAGRAM__CLIENT_ID", &ig.client_id)
    );
    let _ = writeln!(
        w,
        "    IGAUTH_INSTAGRAM__CLIENT_SECRET={}",
        shown_secret("IGAUTH_INSTAGRAM__CLIENT_SECRET", &ig.client_secret)
    );
    let _ = writeln!(w, "  Redirect URIs must be https: for local development, use a tunnel (see docs/meta-app.md).");
    let _ = writeln!(w);

    let introspect = at("/v1/introspect");
    let key = if settings.server.api_key.is_set() {
        "Bearer <the value of IGAUTH_SERVER__API_KEY>".to_string()
    } else {
        format!("Bearer {}", missing("IGAUTH_SERVER__API_KEY"))
    };
    let _ = writeln!(
        w,
        "== Parse, way 1 (self-hosted Parse Server: Parse's oauth2 adapter asks igauth)"
    );
    let _ = writeln!(
        w,
        "  Parse Server option `auth` (or PARSE_SERVER_AUTH_PROVIDERS), exactly:"
    );
    let _ = writeln!(w, "  {{\"instagram\": {{\"oauth2\": true,");
    let _ = writeln!(
        w,
        "    \"tokenIntrospectionEndpointUrl\": \"{introspect}\","
    );
    let _ = writeln!(w, "    \"useridField\": \"sub\",");
    let _ = writeln!(w, "    \"authorizationHeader\": \"{key}\"}}}}");
    let _ = writeln!(
        w,
        "  (the key itself is never printed; if Parse reaches igauth by an internal address,"
    );
    let _ = writeln!(w, "  use that address with /v1/introspect instead)");
    let _ = writeln!(w);
    let _ = writeln!(w, "== Parse, sessions (Back4App, or any Parse whose options you cannot set): igauth signs people in");
    let parse = &settings.parse;
    for (var, value) in [
        ("IGAUTH_PARSE__SERVER_URL", &parse.server_url),
        ("IGAUTH_PARSE__APP_ID", &parse.app_id),
    ] {
        let _ = writeln!(w, "  {var}={}", shown(var, value));
    }
    let master_key = "IGAUTH_PARSE__MASTER_KEY";
    let _ = writeln!(
        w,
        "  {master_key}={}",
        shown_secret(master_key, &parse.master_key)
    );
    let _ = writeln!(
        w,
        "  IGAUTH_PARSE__SESSIONS=true  (now {}; then /v1/token also answers a Parse sessionToken",
        parse.sessions
    );
    let _ = writeln!(w, "  for Parse.User.become(sessionToken))");
    let _ = writeln!(w);
    let _ = writeln!(
        w,
        "== Parse, ways 2 and 3 (a second check in Cloud Code; on Parse >= 8 they need way 1 too)"
    );
    urls(
        w,
        &[
            (
                "webhook function igValidate:  ",
                "/v1/parse/functions/validate",
            ),
            (
                "webhook function igExchange:  ",
                "/v1/parse/functions/exchange",
            ),
            (
                "webhook trigger _User beforeSave: ",
                "/v1/parse/triggers/user",
            ),
        ],
    );
    let _ = writeln!(
        w,
        "  Parse's webhookKey = IGAUTH_PARSE__WEBHOOK_KEY {}",
        shown_secret("IGAUTH_PARSE__WEBHOOK_KEY", &parse.webhook_key)
    );
    let _ = writeln!(w);

    let _ = writeln!(w, "== Apps: the URL an app opens to start a login");
    let return_to = match ig.return_urls.first() {
        Some(url) => form_urlencoded::byte_serialize(url.as_bytes()).collect::<String>(),
        None => missing("IGAUTH_INSTAGRAM__RETURN_URLS"),
    };
    let _ = writeln!(
        w,
        "  {}?return_to={return_to}&code_challenge=<CHALLENGE>&code_challenge_method=S256",
        at("/v1/authorize")
    );
    let _ = writeln!(w, "  (return_to: one of IGAUTH_INSTAGRAM__RETURN_URLS, URL-encoded. PKCE: the app makes a random");
    let _ = writeln!(w, "  code_verifier of 43 to 128 characters and sends CHALLENGE = base64url(SHA-256(code_verifier)),");
    let _ = writeln!(w, "  unpadded.)");
    let _ = writeln!(
        w,
        "  The login comes back to return_to#code=<one-time code>; the app then sends"
    );
    let _ = writeln!(
        w,
        "  POST {} with code and code_verifier and gets the authData",
        at("/v1/token")
    );
    let _ = writeln!(w, "  (docs/recipes.md has the code per platform).");
    if settings.server.demo {
        let _ = writeln!(w, "  demo page: {}", at("/v1/demo"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::missing;

    #[test]
    fn missing_values_name_their_variable() {
        assert_eq!(missing("IGAUTH_X__Y"), "<set IGAUTH_X__Y>");
    }
}
