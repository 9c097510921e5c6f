// Parse Cloud Code that asks igauth whether a user's Instagram authData is genuine.
// For Back4App and self-hosted Parse Server >= 6 (tested on parse-server 9.10, Node 20).
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

const IGAUTH_TIMEOUT_MS = Number(process.env.IGAUTH_TIMEOUT_MS) || 8000;
const INVALID = 'Instagram auth is invalid for this user.';

// Same code as Parse's own adapters use (101), but a distinct message: "we could not ask" must
// never read as "this login is invalid", and must never let the login through either.
const unverifiable = (why) =>
  new Parse.Error(Parse.Error.OBJECT_NOT_FOUND, `Could not verify Instagram login right now: ${why}`);

// igauth's verdict on one Instagram authData: {valid: true, id, username} or
// {valid: false, reason, message}. Throws `unverifiable` when there is no verdict.
async function igauthVerdict(instagram) {
  const base = process.env.IGAUTH_URL;
  if (!base) throw unverifiable('IGAUTH_URL is not set on this server.');
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
    throw unverifiable(e.name === 'TimeoutError' ? 'igauth did not answer in time.' : 'igauth is unreachable.');
  }
  // 5xx: igauth could not reach Instagram; 4xx: our request or key is wrong. Neither is a verdict.
  if (!response.ok) throw unverifiable(`igauth answered HTTP ${response.status}.`);
  const verdict = await response.json().catch(() => null);
  if (!verdict || typeof verdict.valid !== 'boolean') throw unverifiable('igauth sent an unexpected answer.');
  // A yes counts only for the id Parse stores.
  if (verdict.valid && String(verdict.id) !== String(instagram.id)) {
    return { valid: false, reason: 'id_mismatch' };
  }
  return verdict;
}

const instagramOf = (user) => user?.get('authData')?.instagram ?? null;

Parse.Cloud.beforeSave(Parse.User, async (request) => {
  const instagram = instagramOf(request.object);
  if (!instagram) return; // no Instagram login, or it is being unlinked (null)
  // Only check authData that is being written now. A user editing their profile sends the stored
  // authData along unchanged, and its token may long have expired: that is not a failed login.
  const before = instagramOf(request.original);
  if (before && JSON.stringify(before) === JSON.stringify(instagram)) return;
  const verdict = await igauthVerdict(instagram);
  if (!verdict.valid) throw new Parse.Error(Parse.Error.OBJECT_NOT_FOUND, INVALID);
});

Parse.Cloud.beforeLogin(async (request) => {
  const stored = instagramOf(request.object);
  if (!stored) return; // a password login, or a user without Instagram
  const verdict = await igauthVerdict(stored);
  if (!verdict.valid && verdict.reason === 'id_mismatch') {
    throw new Parse.Error(Parse.Error.OBJECT_NOT_FOUND, INVALID);
  }
});
