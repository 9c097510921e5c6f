// igauth signing people into a real Parse Server 9 on PostgreSQL started with NO `auth` option
// at all (what a hosted Parse app has): logins end with a PKCE handoff code, /v1/token answers
// a Parse session igauth made with the master key, and Meta's deletion removes what it made.
// Plus the way-1 check: without sessions, /v1/token's authData is what Parse's oauth2 adapter
// accepts with logInWith.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import * as h from './harness.mjs';

const done = h.timer('parse sessions (e2e)');
// Ids above 2^53, odd.
const ERIN = '17841400000000005';
const FRANK = '17841400000000007';
const GRACE = '17841400000000009';
const HEIDI = '17841400000000011';
const IVAN = '17841400000000013';
const JUDY = '17841400000000015';

let pg, fake, parse, igauth, plain, parseOauth;
const apiKey = h.secret('api');

before(async () => {
  [pg, fake] = await h.startedTogether(h.startPostgres(), h.startFake());
  // No `auth` option: Parse's own Instagram adapter refuses every authData here.
  parse = await h.startParse(pg, { name: 'parse-sessions' });
  [igauth, plain] = await h.startedTogether(
    h.startIgauth({
      fakeUrl: fake.url,
      apiKey,
      login: true,
      parse,
      env: {
        IGAUTH_PARSE__SESSIONS: 'true',
        IGAUTH_PARSE__ON_DATA_DELETION: 'delete_user',
        IGAUTH_SERVER__PUBLIC_URL: 'https://auth.example',
      },
    }),
    // Without sessions, codes living one second (the expiry test waits that out).
    h.startIgauth({ fakeUrl: fake.url, apiKey, login: true, env: { IGAUTH_SERVER__HANDOFF_TTL_SECS: '1' } }),
  );
  parseOauth = await h.startParse(pg, {
    name: 'parse-oauth2',
    options: { auth: h.oauth2Auth(`${plain.url}/v1/introspect`, `Bearer ${apiKey}`) },
  });
});

after(async () => {
  await h.stopAll(igauth, plain, parse, parseOauth, fake, pg);
  done();
});

/** A whole login as `userId`: the callback's Location carries only `#code=`; then /v1/token. */
async function signIn(userId, { headers = {}, via = igauth } = {}) {
  const { location, verifier } = await h.logIn(via, userId);
  assert.match(location, /^myapp:\/\/auth#code=[\w-]{43}$/, location);
  return h.redeem(via, h.handoffCode(location), verifier, headers);
}

const me = (token) => parse.rest('GET', '/users/me', undefined, { headers: { 'X-Parse-Session-Token': token } });
const usersNamed = async (id) =>
  (await parse.rest('GET', `/classes/_User?${new URLSearchParams({ where: JSON.stringify({ username: { $regex: `^instagram-${id}` } }) })}`, undefined, { master: true })).json.results;
const links = async (id) =>
  (await parse.rest('GET', `/classes/InstagramAccount?${new URLSearchParams({ where: JSON.stringify({ instagramId: id }) })}`, undefined, { master: true })).json.results;

test('Parse with no auth option refuses logInWith("instagram") itself', async () => {
  const res = await parse.logInWith({ instagram: { id: ERIN, access_token: `IGT-${ERIN}` } });
  assert.notEqual(res.status, 201, res.text);
});

test('a whole login ends in a working Parse session; a returning person gets the same user', async () => {
  const first = await signIn(ERIN);
  assert.equal(first.status, 200, first.text);
  assert.equal(first.headers.get('cache-control'), 'no-store');
  assert.equal(first.json.isNew, true);
  assert.equal(first.json.authData.instagram.id, ERIN);
  assert.equal(first.json.authData.instagram.user_id, `9${ERIN}`);
  assert.match(first.json.sessionToken, /^r:[0-9a-f]{64}$/);
  const who = await me(first.json.sessionToken);
  assert.equal(who.status, 200, who.text);
  assert.equal(who.json.objectId, first.json.objectId);
  assert.equal(who.json.instagramUsername, first.json.username);
  assert.equal(who.json.authData, undefined, 'no authData written');

  const again = await signIn(ERIN, { headers: {} });
  assert.equal(again.status, 200, again.text);
  assert.equal(again.json.objectId, first.json.objectId);
  assert.equal(again.json.isNew, false);
  assert.notEqual(again.json.sessionToken, first.json.sessionToken);

  // The session is what a login through Instagram would have made.
  const sessions = await parse.rest(
    'GET',
    `/classes/_Session?${new URLSearchParams({ where: JSON.stringify({ sessionToken: again.json.sessionToken }) })}`,
    undefined,
    { master: true },
  );
  const [session] = sessions.json.results;
  assert.deepEqual(session.createdWith, { action: 'login', authProvider: 'instagram' });
  const days = (Date.parse(session.expiresAt.iso) - Date.now()) / 86400000;
  assert.ok(days > 364 && days < 366, `${days}`);
  // The link class is closed to everyone without the master key.
  const open = await parse.rest('GET', '/classes/InstagramAccount');
  assert.ok(open.status >= 400 || open.json.results.length === 0, open.text);
  assert.equal((await links(ERIN)).length, 1);
});

test('a logged-in password user links the account; another user gets 409 already_linked', async () => {
  const signup = await parse.rest('POST', '/users', { username: 'frank-pw', password: 'pw-frank-1' });
  assert.equal(signup.status, 201, signup.text);
  const linked = await signIn(FRANK, { headers: { 'X-Parse-Session-Token': signup.json.sessionToken } });
  assert.equal(linked.status, 200, linked.text);
  assert.equal(linked.json.objectId, signup.json.objectId);
  assert.equal(linked.json.isNew, false);
  // Logging in with Instagram alone now finds that user.
  const alone = await signIn(FRANK);
  assert.equal(alone.json.objectId, signup.json.objectId);

  const other = await parse.rest('POST', '/users', { username: 'other-pw', password: 'pw-other-1' });
  const conflict = await signIn(FRANK, { headers: { 'X-Parse-Session-Token': other.json.sessionToken } });
  assert.equal(conflict.status, 409, conflict.text);
  assert.equal(conflict.json.error.code, 'already_linked');
  const stale = await signIn(GRACE, { headers: { 'X-Parse-Session-Token': 'r:0000' } });
  assert.equal(stale.status, 401, stale.text);
  assert.equal(stale.json.error.code, 'invalid_session_token');
});

test('six concurrent first logins of one person make one _User', async () => {
  const started = await Promise.all(Array.from({ length: 6 }, () => h.logIn(igauth, HEIDI)));
  const answers = await Promise.all(started.map(({ location, verifier }) => h.redeem(igauth, h.handoffCode(location), verifier)));
  for (const a of answers) assert.equal(a.status, 200, a.text);
  assert.equal(new Set(answers.map((a) => a.json.objectId)).size, 1);
  assert.equal(answers.filter((a) => a.json.isNew).length, 1);
  assert.equal((await usersNamed(HEIDI)).length, 1);
  assert.equal((await links(HEIDI)).length, 1);
});

test('a wrong verifier, a replayed code and an expired code are each invalid_grant', async () => {
  const { location, verifier } = await h.logIn(igauth, GRACE);
  const code = h.handoffCode(location);
  const wrong = await h.redeem(igauth, code, h.pkce().verifier);
  assert.equal(wrong.status, 400);
  assert.equal(wrong.json.error.code, 'invalid_grant');

  const fresh = await h.logIn(igauth, GRACE);
  const ok = await h.redeem(igauth, h.handoffCode(fresh.location), fresh.verifier);
  assert.equal(ok.status, 200, ok.text);
  const replayed = await h.redeem(igauth, h.handoffCode(fresh.location), fresh.verifier);
  assert.equal(replayed.json.error.code, 'invalid_grant');

  const slow = await h.logIn(plain, GRACE);
  // The code's one-second lifetime is what is waited out here, not a server.
  await new Promise((resolve) => setTimeout(resolve, 1200));
  const expired = await h.redeem(plain, h.handoffCode(slow.location), slow.verifier);
  assert.equal(expired.json.error.code, 'invalid_grant');
  assert.equal(expired.json.error.message, wrong.json.error.message);
  assert.ok(verifier);
});

test('/v1/exchange answers a working session too', async () => {
  const res = await h.call(`${igauth.url}/v1/exchange`, {
    method: 'POST',
    json: { code: `CODE-${IVAN}-exchange`, redirect_uri: h.REDIRECT_URI, installation_id: 'a1b2c3d4-0000-4000-8000-000000000001' },
  });
  assert.equal(res.status, 200, res.text);
  assert.equal((await me(res.json.sessionToken)).json.objectId, res.json.objectId);
  const sessions = await parse.rest(
    'GET',
    `/classes/_Session?${new URLSearchParams({ where: JSON.stringify({ sessionToken: res.json.sessionToken }) })}`,
    undefined,
    { master: true },
  );
  assert.equal(sessions.json.results[0].installationId, 'a1b2c3d4-0000-4000-8000-000000000001');
});

test("Meta's data-deletion request deletes a user igauth created, its sessions and its link", async () => {
  const made = await signIn(JUDY);
  assert.equal(made.json.isNew, true);
  const payload = Buffer.from(JSON.stringify({ algorithm: 'HMAC-SHA256', issued_at: Math.floor(Date.now() / 1000), user_id: JUDY })).toString('base64url');
  const sig = createHmac('sha256', h.CLIENT_SECRET).update(payload).digest('base64url');
  const res = await h.call(`${igauth.url}/v1/meta/data-deletion`, { method: 'POST', form: { signed_request: `${sig}.${payload}` } });
  assert.equal(res.status, 200, res.text);
  const status = await h.call(`${igauth.url}/v1/meta/data-deletion/${res.json.confirmation_code}`, { headers: { accept: 'application/json' } });
  assert.equal(status.json.status, 'completed', status.text);
  assert.equal((await me(made.json.sessionToken)).status >= 400, true);
  const gone = await parse.rest('GET', `/classes/_User/${made.json.objectId}`, undefined, { master: true });
  assert.equal(gone.status, 404, gone.text);
  assert.equal((await links(JUDY)).length, 0);
});

test("without sessions, /v1/token's authData logs in through Parse's oauth2 adapter (way 1)", async () => {
  const res = await signIn(ERIN, { via: plain });
  assert.equal(res.status, 200, res.text);
  assert.equal(res.json.sessionToken, undefined);
  const login = await parseOauth.logInWith(res.json.authData);
  assert.equal(login.status, 201, login.text);
  assert.ok(login.json.sessionToken);
});
