//! What the black-box tests cannot do through HTTP: sign a login state outside the app, as a
//! server with the same state secret would have issued it (to reach the callback with a state
//! that is expired, issued for a `return_to` no longer allowed, or signed with another secret).
//! It is the library's only door into the domain types, so they stay crate-private.

use crate::domain::login_state::{StateKey, STATE_TTL};
use crate::domain::pkce::CodeChallenge;
use crate::domain::{ReturnTo, Secret};

/// A login state signed with `state_secret` at `issued_at` (seconds since the epoch), for
/// `return_to` and the PKCE `code_verifier`, living as long as the app's states do: the state's
/// value and its nonce id (the browser-binding cookie is `__Host-igauth-login-<nonce id>`).
/// `None` when the secret is too short to sign states or `return_to` is not an absolute URL.
#[doc(hidden)]
pub fn signed_login_state(
    state_secret: &str,
    return_to: &str,
    code_verifier: &str,
    issued_at: u64,
) -> Option<(String, String)> {
    let key = StateKey::new(&Secret::new(state_secret))?;
    let target = ReturnTo::parse(return_to, &[return_to.to_string()]).ok()?;
    let challenge = CodeChallenge::of_verifier(code_verifier);
    let issued = key
        .issue_at(&target, &challenge, issued_at, STATE_TTL)
        .ok()?;
    Some((issued.value, issued.nonce.id()))
}
