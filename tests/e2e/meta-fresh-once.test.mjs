// Meta's callbacks act on fresh requests, once, on one callback (issue 20), against a real Parse
// Server 9 on PostgreSQL: a signed request issued 400 days ago (or dated ahead, or undated)
// deletes nobody, and a deauthorize request replayed after the person logged back in signs
// nobody out again, nor deletes them when posted to the data-deletion callback.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as h from './harness.mjs';

const done = h.timer('meta fresh and once (e2e)');
// Ids above 2^53, odd: a double would turn them into other people.
const OLD = '27640875392278833';
const REPLAYED = '17841405793187221';
const DAY = 24 * 3600;

let pg, fake, introspector, parse, igauth;

before(async () => {
  [pg, fake] = await h.startedTogether(h.startPostgres(), h.startFake());
  const apiKey = h.secret('api');
  // The introspection endpoint Parse's adapter calls at signup: a plain igauth.
  introspector = await h.startIgauth({ fakeUrl: fake.url, apiKey });
  const auth = h.oauth2Auth(`${introspector.url}/v1/introspect`, `Bearer ${apiKey}`);
  // directAccess off, as meta-callbacks.test.mjs explains: igauth acts through Parse's REST API.
  parse = await h.startParse(pg, { name: 'parse-fresh-once', options: { auth, directAccess: false } });
  igauth = await h.startIgauth({
    fakeUrl: fake.url,
    parse,
    env: {
      IGAUTH_SERVER__PUBLIC_URL: 'https://auth.example/igauth',
      // Data deletion deletes the user (the default); deauthorize signs them out.
      IGAUTH_PARSE__ON_DEAUTHORIZE: 'revoke_sessions',
      RUST_LOG: 'info',
    },
  });
});

after(async () => {
  await h.stopAll(igauth, parse, introspector, fake, pg);
  done();
});

/** Signs up (or logs in) through the introspection adapter; returns { objectId, sessionToken }. */
async function logIn(id) {
  const res = await parse.logInWith({ instagram: { id, access_token: `IGT-${id}` } });
  assert.ok(res.status === 200 || res.status === 201, `login ${id}: ${res.status} ${h.redact(res.text)}`);
  return res.json;
}

const me = (token) => parse.rest('GET', '/users/me', undefined, { headers: { 'X-Parse-Session-Token': token } });
const userExists = async (objectId) => (await parse.rest('GET', `/users/${objectId}`, undefined, { master: true })).status === 200;
const refused = (res, what) => {
  assert.equal(res.status, 400, `${what}: ${res.text}`);
  assert.equal(res.json.error.code, 'invalid_signed_request', what);
};

test('a request issued 400 days ago, dated ahead or undated acts on nobody', async () => {
  const person = await logIn(OLD);
  const now = Math.floor(Date.now() / 1000);
  const signed = (issuedAt) => h.signRequest({ algorithm: 'HMAC-SHA256', user_id: OLD, ...issuedAt });
  const cases = {
    '400 days ago': signed({ issued_at: now - 400 * DAY }),
    'a year ahead': signed({ issued_at: now + 365 * DAY }),
    'no issued_at': signed({}),
    'issued_at "yesterday"': signed({ issued_at: 'yesterday' }),
  };
  for (const route of ['data-deletion', 'deauthorize']) {
    for (const [what, signedRequest] of Object.entries(cases)) {
      refused(await h.metaCallback(igauth, route, signedRequest), `${route}, ${what}`);
    }
  }
  assert.equal(await userExists(person.objectId), true, 'the user still exists');
  assert.equal((await me(person.sessionToken)).status, 200, 'and is still signed in');

  // The same person, asked for now: acted on (so the refusals above were the dates').
  const fresh = await h.metaCallback(igauth, 'data-deletion', h.metaRequest(OLD));
  assert.equal(fresh.status, 200, fresh.text);
  assert.equal(await userExists(person.objectId), false, 'a fresh request deletes the user');
});

test('a replayed deauthorize request acts on nobody, on either callback', async () => {
  const first = await logIn(REPLAYED);
  const deauthorize = h.metaRequest(REPLAYED);
  const res = await h.metaCallback(igauth, 'deauthorize', deauthorize);
  assert.equal(res.status, 200, res.text);
  assert.equal(res.json.users, 1, res.text);
  assert.equal((await me(first.sessionToken)).json?.code, 209, 'the session is revoked');

  // The person logs back in; a captured copy of the request is posted again.
  const again = await logIn(REPLAYED);
  assert.equal(again.objectId, first.objectId);
  const replay = await h.metaCallback(igauth, 'deauthorize', deauthorize);
  assert.equal(replay.status, 200, replay.text);
  assert.equal(replay.json.users, 0, `a replay acts on nobody: ${replay.text}`);
  assert.equal((await me(again.sessionToken)).status, 200, 'the new session still works');

  // Settled on deauthorize, it does not act on the data-deletion callback either.
  refused(await h.metaCallback(igauth, 'data-deletion', deauthorize), 'deauthorize replayed as a data deletion');
  assert.equal(await userExists(first.objectId), true, 'the user still exists');
  assert.equal((await me(again.sessionToken)).status, 200, 'and is still signed in');
  assert.doesNotMatch(igauth.proc.output, new RegExp(parse.masterKey), 'the master key is never logged');
});
