// Meta's compliance callbacks against a real Parse Server 9 on PostgreSQL: users signed up
// through Parse's OAuth2 introspection adapter (as in oauth2.test.mjs), then deauthorize and
// data-deletion requests signed with the app secret exactly as Meta signs them.
//
// Two Parse Servers: "parse-meta" runs with directAccess: false, because its Cloud function
// (cloud/meta-deletion.cjs) saves an object through the SDK, which parse-server 9.10's default
// directAccess breaks; "parse-default" keeps the default directAccess, where Parse answers 500 to
// every authData write, so igauth's unlink must be reported `failed` naming the cause.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import * as h from './harness.mjs';

const done = h.timer('meta callbacks (e2e)');
const PUBLIC_URL = 'https://auth.example/igauth';
// Ids above 2^53, odd: a double would turn them into other people.
const ALICE = '27640875392278831';
const BOB = '17841405793187219';
const CAROL = '17841400000000001';
const CAROL_PRO = '90000000000000017'; // Carol's professional-account id, stored as user_id
const DAVE = '17841400000000003';

let pg, fake, introspector, parse, parseDefault, igauth, igauthDefault;
let metaEnv;

const sign = h.signRequest;
const request = h.metaRequest;
const callback = h.metaCallback;

/** igauth configured to act on `p` through its REST API. */
function startMeta(p, env = {}) {
  return h.startIgauth({
    fakeUrl: fake.url,
    env: {
      IGAUTH_SERVER__PUBLIC_URL: PUBLIC_URL,
      IGAUTH_PARSE__SERVER_URL: p.url,
      IGAUTH_PARSE__APP_ID: p.appId,
      IGAUTH_PARSE__MASTER_KEY: p.masterKey,
      RUST_LOG: 'info',
      ...env,
    },
  });
}

before(async () => {
  [pg, fake] = await h.startedTogether(h.startPostgres(), h.startFake());
  const apiKey = h.secret('api');
  // The introspection endpoint Parse's adapter calls at signup: a plain igauth.
  introspector = await h.startIgauth({ fakeUrl: fake.url, apiKey });
  const auth = h.oauth2Auth(`${introspector.url}/v1/introspect`, `Bearer ${apiKey}`);
  [parse, parseDefault] = await h.startedTogether(
    h.startParse(pg, {
      name: 'parse-meta',
      options: { auth, directAccess: false, cloud: path.join(h.REPO, 'tests/e2e/cloud/meta-deletion.cjs') },
    }),
    h.startParse(pg, { name: 'parse-default', options: { auth } }),
  );
  metaEnv = { IGAUTH_PARSE__DELETION_FUNCTION: 'purgeInstagram', IGAUTH_PARSE__ON_DEAUTHORIZE: 'revoke_sessions' };
  [igauth, igauthDefault] = await h.startedTogether(
    startMeta(parse, metaEnv),
    startMeta(parseDefault, { IGAUTH_PARSE__ON_DATA_DELETION: 'unlink' }),
  );
});

after(async () => {
  await h.stopAll(igauth, igauthDefault, parse, parseDefault, introspector, fake, pg);
  done();
});

/** Signs up (or logs in) through the introspection adapter; returns { objectId, sessionToken }. */
async function logIn(p, id, extra = {}) {
  const res = await p.logInWith({ instagram: { id, access_token: `IGT-${id}`, ...extra } });
  assert.ok(res.status === 200 || res.status === 201, `login ${id}: ${res.status} ${h.redact(res.text)}`);
  return res.json;
}

const me = (p, token) => p.rest('GET', '/users/me', undefined, { headers: { 'X-Parse-Session-Token': token } });
const userExists = async (p, objectId) => (await p.rest('GET', `/users/${objectId}`, undefined, { master: true })).status === 200;
const sessionsOf = async (p, objectId) =>
  (await p.rest('GET', `/classes/_Session?where=${encodeURIComponent(JSON.stringify({ user: { __type: 'Pointer', className: '_User', objectId } }))}`, undefined, { master: true })).json.results;
const statusOf = (base, code, accept = 'application/json') =>
  h.call(`${base.url}/v1/meta/data-deletion/${code}`, { headers: { Accept: accept } });

test('a data-deletion request deletes the user, revokes both sessions, calls the function, and says completed (also after a restart)', async () => {
  const first = await logIn(parse, ALICE);
  const second = await logIn(parse, ALICE);
  assert.equal(second.objectId, first.objectId);
  assert.notEqual(second.sessionToken, first.sessionToken);
  const bob = await logIn(parse, BOB);
  assert.equal((await me(parse, first.sessionToken)).status, 200);

  const aliceRequest = request(ALICE);
  const res = await callback(igauth, 'data-deletion', aliceRequest);
  assert.equal(res.status, 200, res.text);
  const { url, confirmation_code: code } = res.json;
  assert.match(code, /^[0-9a-f]{40}$/);
  assert.equal(url, `${PUBLIC_URL}/v1/meta/data-deletion/${code}`);

  assert.equal(await userExists(parse, first.objectId), false, 'the user is deleted');
  for (const token of [first.sessionToken, second.sessionToken]) {
    const refused = await me(parse, token);
    assert.equal(refused.json?.code, 209, `a revoked session is refused: ${refused.status} ${refused.text}`);
  }
  assert.deepEqual(await sessionsOf(parse, first.objectId), [], 'no session rows are left behind');
  assert.equal((await me(parse, bob.sessionToken)).status, 200, "another user's session still works");
  assert.equal(await userExists(parse, bob.objectId), true, 'another user is untouched');

  const calls = await parse.rest('GET', '/classes/DeletionCall', undefined, { master: true });
  assert.equal(calls.json.results.length, 1, calls.text);
  assert.deepEqual(
    { id: calls.json.results[0].instagram_id, users: calls.json.results[0].users, code: calls.json.results[0].confirmation_code },
    { id: ALICE, users: [first.objectId], code },
    'the Cloud function ran with the id, the users and the code',
  );

  const status = await statusOf(igauth, code);
  assert.equal(status.status, 200, status.text);
  assert.equal(status.json.status, 'completed');
  assert.equal(status.json.users, 1);
  assert.equal(status.json.function_called, true);
  assert.match(status.json.completed_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  const page = await statusOf(igauth, code, 'text/html');
  assert.match(page.text, new RegExp(code));
  assert.match(page.text, /Completed/);

  // The status class is the master key's alone.
  const anonymous = await parse.rest('GET', '/classes/InstagramDataDeletion');
  assert.notEqual(anonymous.status, 200, `readable without the master key: ${anonymous.text}`);

  // Kept in Parse: a restarted igauth still knows it.
  await igauth.stop();
  igauth = await startMeta(parse, metaEnv);
  const after = await statusOf(igauth, code);
  assert.equal(after.status, 200, after.text);
  assert.equal(after.json.status, 'completed');
  assert.equal(after.json.requested_at, status.json.requested_at);

  // A replay from Meta: the same code, no error, and the function is not run again.
  const replay = await callback(igauth, 'data-deletion', aliceRequest);
  assert.equal(replay.status, 200, replay.text);
  assert.equal(replay.json.confirmation_code, code);
  const callsAfter = await parse.rest('GET', '/classes/DeletionCall', undefined, { master: true });
  assert.equal(callsAfter.json.results.length, 1, 'a settled request is not redone');
  assert.doesNotMatch(igauth.proc.output + parse.proc.output, new RegExp(parse.masterKey), 'the master key is never logged');
});

test('only authData.instagram.id decides whom a request reaches: a stored user_id is not matched; an unknown id is no_data', async () => {
  // Parse's introspection adapter checks id and token only, so a client can store any user_id
  // beside them: a request naming that user_id must not reach this account.
  const carol = await logIn(parse, CAROL, { user_id: CAROL_PRO });
  const stored = await parse.rest('GET', `/users/${carol.objectId}`, undefined, { master: true });
  assert.equal(stored.json.authData.instagram.user_id, CAROL_PRO, 'Parse keeps user_id as sent');
  const byUserId = await callback(igauth, 'data-deletion', request(CAROL_PRO));
  assert.equal(byUserId.status, 200, byUserId.text);
  assert.equal(await userExists(parse, carol.objectId), true, 'not matched by the stored user_id');
  assert.equal((await statusOf(igauth, byUserId.json.confirmation_code)).json.status, 'no_data');

  const res = await callback(igauth, 'data-deletion', request(CAROL));
  assert.equal(res.status, 200, res.text);
  assert.equal(await userExists(parse, carol.objectId), false, 'found by the verified id');
  assert.equal((await statusOf(igauth, res.json.confirmation_code)).json.status, 'completed');

  const unknown = await callback(igauth, 'data-deletion', request('12345678901234567'));
  assert.equal(unknown.status, 200, unknown.text);
  const status = await statusOf(igauth, unknown.json.confirmation_code);
  assert.equal(status.json.status, 'no_data');
  assert.equal(status.json.users, 0);
});

test('deauthorize with revoke_sessions revokes the sessions and keeps the user; a replay is harmless', async () => {
  const dave = await logIn(parse, DAVE);
  const daveRequest = request(DAVE);
  for (let i = 0; i < 2; i++) {
    const res = await callback(igauth, 'deauthorize', daveRequest);
    assert.equal(res.status, 200, res.text);
  }
  assert.equal((await me(parse, dave.sessionToken)).json?.code, 209, 'the session is revoked');
  assert.equal(await userExists(parse, dave.objectId), true, 'the user stays');
  const again = await logIn(parse, DAVE);
  assert.equal(again.objectId, dave.objectId, 'and can log in again');
});

test('forged, foreign-algorithm, tampered and garbage requests get 400 and change nothing in Parse', async () => {
  const victim = await logIn(parse, BOB);
  const good = request(BOB);
  const [sig] = good.split('.');
  const [, otherPayload] = request('1').split('.');
  const cases = {
    forged: request(BOB).replace(/^[^.]+/, sign({ algorithm: 'HMAC-SHA256', user_id: BOB }, 'not-the-secret').split('.')[0]),
    'other secret': sign({ algorithm: 'HMAC-SHA256', user_id: BOB }, 'not-the-secret'),
    'other algorithm': sign({ algorithm: 'HMAC-SHA1', user_id: BOB }),
    tampered: `${sig}.${otherPayload}`,
    garbage: 'garbage',
  };
  for (const route of ['data-deletion', 'deauthorize']) {
    for (const [what, signedRequest] of Object.entries(cases)) {
      const res = await callback(igauth, route, signedRequest);
      assert.equal(res.status, 400, `${route} ${what}: ${res.text}`);
      assert.equal(res.json.error.code, 'invalid_signed_request');
    }
  }
  assert.equal(await userExists(parse, victim.objectId), true);
  assert.equal((await me(parse, victim.sessionToken)).status, 200, 'the session still works');
});

test('unlink on Parse with its default directAccess stays in progress; the cause goes to the log only', async () => {
  const erin = await logIn(parseDefault, ALICE);
  const res = await callback(igauthDefault, 'data-deletion', request(ALICE));
  assert.equal(res.status, 200, `${res.text}\n${igauthDefault.proc.tail()}\n${parseDefault.proc.tail()}`);
  const status = await statusOf(igauthDefault, res.json.confirmation_code);
  // igauth keeps retrying it; the person reads plain words, the operator the cause.
  assert.equal(status.json.status, 'received', status.text);
  assert.doesNotMatch(status.json.message, /directAccess|IGAUTH_/);
  assert.equal(status.json.completed_at, null);
  const stored = await parseDefault.rest('GET', `/users/${erin.objectId}`, undefined, { master: true });
  assert.equal(stored.json.authData?.instagram?.id, ALICE, 'nothing was claimed that did not happen');
  assert.match(igauthDefault.proc.output, /unlink failed: .*directAccess/);
});
