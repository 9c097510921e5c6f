// Parse Cloud Code that asks igauth whether a user's Instagram authData is genuine.
// For Parse Server >= 6 (tested on parse-server 9.10, Node 20). It is a SECOND gate: Parse runs
// these hooks only after its auth adapter accepted the authData, and on Parse >= 8 that needs an
// auth.instagram option (way 1 in docs/parse.md). On a Parse whose options you cannot set
// (Back4App), use igauth's sessions instead (docs/parse.md, "Which setup?").
//
// Settings (environment of the Parse Server process):
//   IGAUTH_URL         igauth's base URL, e.g. https://igauth.example.com   (required)
//   IGAUTH_API_KEY     igauth's IGAUTH_SERVER__API_KEY, when it has one
//   IGAUTH_TIMEOUT_MS  how long to wait for igauth (default 8000)
//
// A plain script on purpose (no import/require): Parse loads it with require() or import()
// depending on the app's package.json, and both must work unchanged.
//
// What Parse shows these hooks (checked against a real Parse Server 9.10):
// - beforeSave(_User) sees the authData being written: signup, linking, changing it. This is the
//   real gate.
// - beforeLogin sees the user AS STORED, i.e. the authData saved by the previous signup or
//   login, not the credentials of this login (Parse runs beforeLogin before it validates and
//   stores them, and runs no beforeSave on a login). So Cloud Code cannot judge the token a login
//   presents: that is the auth adapter's job (configure auth.instagram with oauth2 +
//   igauth's /v1/introspect for that). What beforeLogin can still catch is stored authData whose
//   token Instagram says belongs to someone else: a token never changes owner, so that data was
//   forged past a weak adapter. It must NOT refuse stored tokens that are merely expired or
//   revoked: short-lived tokens expire after an hour, and refusing would lock out every honest
//   returning user who brings a fresh one.
// - Parse runs beforeLogin for EVERY login, password logins included, and shows it the same stored
//   user whatever the login method: the hook cannot tell them apart. So it refuses only a definite
//   id_mismatch; when igauth or Instagram cannot answer it lets the login through and logs why
//   (console.warn), or a user who also has a password could not log in while Instagram is down.

const IGAUTH_TIMEOUT_MS = Number(process.env.IGAUTH_TIMEOUT_MS) || 8000;
const INVALID = 'Instagram auth is invalid for this user.';
// Parse relays these errors to the app's end users. When there is no verdict they read this
// plain sentence (same code 101 as Parse's own adapters, but never "invalid"); why there is no
// verdict names igauth and its settings, so it goes to Parse's log instead (never a token).
const UNVERIFIABLE = 'Instagram login could not be verified right now; please try again.';

// igauth or Instagram could not answer; the message is for the server log only.
class NoVerdict extends Error {}

// igauth's verdict on one Instagram authData: {valid: true, id, username} or
// {valid: false, reason, message}. Throws NoVerdict when there is none.
async function igauthVerdict(instagram) {
  const base = process.env.IGAUTH_URL;
  if (!base) throw new NoVerdict('IGAUTH_URL is not set on this server.');
  const headers = { 'Content-Type': 'application/json', Accept: 'application/json' };
  if (process.env.IGAUTH_API_KEY) headers.Authorization = `Bearer ${process.env.IGAUTH_API_KEY}`;
  let response;
  try {
    response = await fetch(`${base.replace(/\/+$/, '')}/v1/validate`, {
      method: 'POST',
      headers,
      // Only the pair Parse stores: anything else in the object is not what is being checked.
      body: JSON.stringify({ id: instagram.id, access_token: instagram.access_token }),
      signal: AbortSignal.timeout(IGAUTH_TIMEOUT_MS),
    });
  } catch (e) {
    // Not the URL or the body: they carry nothing secret, but e.cause may be noisy.
    throw new NoVerdict(e.name === 'TimeoutError' ? 'igauth did not answer in time.' : 'igauth is unreachable.');
  }
  // 5xx: igauth could not reach Instagram; 4xx: our request or key is wrong. Neither is a verdict.
  if (!response.ok) throw new NoVerdict(`igauth answered HTTP ${response.status}.`);
  const verdict = await response.json().catch(() => null);
  if (!verdict || typeof verdict.valid !== 'boolean') throw new NoVerdict('igauth sent an unexpected answer.');
  // A yes counts only for the id Parse stores.
  if (verdict.valid && String(verdict.id) !== String(instagram.id)) {
    return { valid: false, reason: 'id_mismatch' };
  }
  return verdict;
}

const instagramOf = (user) => user?.get('authData')?.instagram ?? null;

// Why there is no verdict, for the server log: the reason, or the name of an unexpected error.
const reasonOf = (e) => (e instanceof NoVerdict ? e.message : `unexpected ${e?.name ?? 'error'}`);
const userOf = (request) => request.object?.id ?? '(new user)';

Parse.Cloud.beforeSave(Parse.User, async (request) => {
  const instagram = instagramOf(request.object);
  if (!instagram) return; // no Instagram login, or it is being unlinked (null)
  // Only check authData that is being written now. A user editing their profile sends the stored
  // authData along unchanged, and its token may long have expired: that is not a failed login.
  const before = instagramOf(request.original);
  if (before && JSON.stringify(before) === JSON.stringify(instagram)) return;
  let verdict;
  try {
    verdict = await igauthVerdict(instagram);
  } catch (e) {
    console.error(`igauth beforeSave(_User) ${userOf(request)}: refused, no verdict on Instagram authData: ${reasonOf(e)}`);
    throw new Parse.Error(Parse.Error.OBJECT_NOT_FOUND, UNVERIFIABLE);
  }
  if (!verdict.valid) throw new Parse.Error(Parse.Error.OBJECT_NOT_FOUND, INVALID);
});

Parse.Cloud.beforeLogin(async (request) => {
  const stored = instagramOf(request.object);
  if (!stored) return; // a user without Instagram authData (whatever this login's method)
  let verdict;
  try {
    verdict = await igauthVerdict(stored);
  } catch (e) {
    // No verdict is no reason to refuse: this may be a password login, and this hook cannot
    // judge the credentials being presented anyway. Let it through and say why.
    console.warn(`igauth beforeLogin ${userOf(request)}: let through, no verdict on the stored Instagram authData: ${reasonOf(e)}`);
    return;
  }
  if (!verdict.valid && verdict.reason === 'id_mismatch') {
    throw new Parse.Error(Parse.Error.OBJECT_NOT_FOUND, INVALID);
  }
});
