// Way 1, zero custom code: Parse Server's own OAuth2 adapter under the provider key `instagram`,
// pointed at igauth's RFC 7662 /v1/introspect. Real Parse Server 9 + PostgreSQL 15, igauth's
// release build, the project's fake Instagram.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as h from './harness.mjs';

const { ID, OTHER } = h;
const INVALID = 'OAuth2 access token is invalid for this user.';
const FAILED = 'OAuth2 token introspection request failed.';

const done = h.timer('oauth2 introspection (e2e)');
const apiKey = h.secret('api');
let pg, fake, igauth, parse;

before(async () => {
  [pg, fake] = await h.startedTogether(h.startPostgres(), h.startFake());
  igauth = await h.startIgauth({ fakeUrl: fake.url, apiKey, webhookKey: h.secret('webhook') });
  parse = await h.startParse(pg, {
    name: 'parse-oauth2',
    options: { auth: h.oauth2Auth(`${igauth.url}/v1/introspect`, `Bearer ${apiKey}`) },
  });
});

after(async () => {
  await h.stopAll(parse, igauth, fake, pg);
  done();
});

/** igauth's public code exchange, as an app calls it after Instagram's redirect. */
async function exchange(code) {
  const res = await h.call(`${igauth.url}/v1/exchange`, { method: 'POST', json: { code, redirect_uri: h.REDIRECT_URI } });
  assert.equal(res.status, 200, `exchange: ${res.status} ${h.redact(res.text)}`);
  return res;
}

const refusal = (res) => `${res.status} ${h.redact(res.text)}`;

test('signup, then a repeat login, through the oauth2 config: a session and the same user (64-bit id)', async () => {
  const first = await exchange(`CODE-${ID}`); // Instagram's flat answer: user_id a JSON number
  assert.equal(first.json.authData.instagram.id, ID);
  assert.equal(first.json.id, ID);
  assert.ok(first.text.includes(`"id":"${ID}"`), 'the id travels as an exact string');
  assert.equal(first.json.username, `user${ID}`);
  assert.ok(first.json.permissions.includes('instagram_business_basic'), first.json.permissions);

  const signup = await parse.logInWith(first.json.authData);
  assert.equal(signup.status, 201, refusal(signup));
  assert.match(signup.json.sessionToken, /^r:/);
  const userId = signup.json.objectId;

  const second = await exchange(`CODE-${ID}-wrapped`); // the documented {"data":[...]} answer
  assert.equal(second.json.authData.instagram.id, ID);
  const login = await parse.logInWith(second.json.authData);
  assert.equal(login.status, 200, refusal(login));
  assert.equal(login.json.objectId, userId, 'the repeat login is the same Parse user');
  assert.match(login.json.sessionToken, /^r:/);
  assert.notEqual(login.json.sessionToken, signup.json.sessionToken);

  const me = await parse.rest('GET', '/users/me', undefined, { headers: { 'X-Parse-Session-Token': login.json.sessionToken } });
  assert.equal(me.status, 200, refusal(me));
  assert.equal(me.json.objectId, userId);
  const stored = await parse.rest('GET', `/users/${userId}`, undefined, { master: true });
  assert.equal(stored.json.authData.instagram.id, ID, 'Parse stored the exact id');
});

test('codes: "#_" from the redirect is stripped, and a code works once', async () => {
  const code = `CODE-${OTHER}-once`;
  const first = await exchange(`${code}#_`);
  assert.equal(first.json.authData.instagram.id, OTHER);
  const again = await h.call(`${igauth.url}/v1/exchange`, { method: 'POST', json: { code, redirect_uri: h.REDIRECT_URI } });
  assert.ok(again.status >= 400 && again.status < 500, `a used code is the client's problem: ${refusal(again)}`);
});

test('wrong id, bad token and expired token are refused by Parse with code 101', async () => {
  const cases = {
    'wrong id': { id: OTHER, access_token: `IGT-${ID}-wrong-id` },
    'bad token': { id: ID, access_token: 'not-an-instagram-token' },
    'expired token': { id: ID, access_token: `IGX-${ID}` },
  };
  for (const [name, instagram] of Object.entries(cases)) {
    const res = await parse.logInWith({ instagram });
    assert.equal(res.json?.code, 101, `${name}: ${refusal(res)}`);
    assert.equal(res.json.error, INVALID, name);
    assert.equal(res.json.sessionToken, undefined, name);
  }
});

test('introspect and validate need the API key; with it they answer per RFC 7662 and the contract', async () => {
  const introspect = (headers, token) => h.call(`${igauth.url}/v1/introspect`, { method: 'POST', headers, form: { token } });
  const token = `IGT-${ID}-introspect`;
  assert.equal((await introspect({}, token)).status, 401, 'no key');
  assert.equal((await introspect({ Authorization: 'Bearer wrong-key' }, token)).status, 401, 'wrong key');
  const auth = { Authorization: `Bearer ${apiKey}` };
  const active = await introspect(auth, token);
  assert.equal(active.status, 200, refusal(active));
  assert.deepEqual(active.json, { active: true, sub: ID, user_id: `9${ID}`, username: `user${ID}`, token_type: 'bearer' });
  const inactive = await introspect({ ...auth }, 'not-an-instagram-token');
  assert.equal(inactive.status, 200, refusal(inactive));
  assert.deepEqual(inactive.json, { active: false });

  const validate = (headers, json) => h.call(`${igauth.url}/v1/validate`, { method: 'POST', headers, json });
  assert.equal((await validate({}, { id: ID, access_token: token })).status, 401, 'validate without the key');
  const ok = await validate(auth, { authData: { instagram: { id: ID, access_token: token } } });
  assert.equal(ok.status, 200, refusal(ok));
  assert.equal(ok.json.valid, true);
  assert.equal(ok.json.id, ID);
  const mismatch = await validate(auth, { id: OTHER, access_token: token });
  assert.equal(mismatch.status, 200, refusal(mismatch));
  assert.equal(mismatch.json.valid, false);
  assert.equal(typeof mismatch.json.reason, 'string');
  assert.equal(typeof mismatch.json.message, 'string');
});

// Last in this file: after Instagram says the app is throttled, igauth pauses its /me calls
// (30 s), so every test after this one would see 503s.
test('Instagram down: Parse fails closed with "introspection request failed", not "invalid"', async () => {
  const before = (await fake.stats()).me_calls;
  // Kept to two failing /me rounds (each retried once): igauth's breaker opens at five.
  await fake.mode('500');
  try {
    const res = await parse.logInWith({ instagram: { id: ID, access_token: `IGT-${ID}-while-down` } });
    assert.equal(res.json?.code, 101, refusal(res));
    assert.equal(res.json.error, FAILED);
    assert.doesNotMatch(res.json.error, /invalid for this user/);

    const direct = await h.call(`${igauth.url}/v1/introspect`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${apiKey}` },
      form: { token: `IGT-${ID}-while-down` },
    });
    assert.ok(direct.status >= 500, `upstream trouble is a 5xx, never active:false: ${refusal(direct)}`);
  } finally {
    await fake.mode('ok');
  }
  assert.ok((await fake.stats()).me_calls > before, 'igauth did ask Instagram');
  const back = await parse.logInWith({ instagram: { id: ID, access_token: `IGT-${ID}-after-outage` } });
  assert.equal(back.status, 200, `logins work again once Instagram is back: ${refusal(back)}`);

  // Throttling is not a verdict on the token either, and igauth then stops asking for a while.
  await fake.mode('ratelimit');
  try {
    const throttled = await parse.logInWith({ instagram: { id: ID, access_token: `IGT-${ID}-throttled` } });
    assert.equal(throttled.json?.code, 101, refusal(throttled));
    assert.equal(throttled.json.error, FAILED);
    const calls = (await fake.stats()).me_calls;
    const paused = await parse.logInWith({ instagram: { id: ID, access_token: `IGT-${ID}-paused` } });
    assert.equal(paused.json?.code, 101, refusal(paused));
    assert.equal(paused.json.error, FAILED);
    assert.equal((await fake.stats()).me_calls, calls, 'paused: no /me call while Instagram throttles');
  } finally {
    await fake.mode('ok');
  }
});
