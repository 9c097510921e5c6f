// Way 2: Cloud Code webhooks registered through Parse's Hooks API (as Back4App's dashboard does),
// with Parse's webhookKey. Parse's own provider check is made permissive on purpose (a stub
// introspection endpoint), so that the webhooks, not the adapter, are what refuses bad authData.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as h from './harness.mjs';

const { ID, OTHER, UNVERIFIABLE } = h;
const INVALID = 'Instagram auth is invalid for this user.';

const done = h.timer('webhooks (e2e)');
const apiKey = h.secret('api');
const webhookKey = h.secret('webhook');
let pg, fake, stub, igauth, parse, wrongKeyParse;

async function registerHooks(p) {
  const hooks = [
    ['/hooks/functions', { functionName: 'igValidate', url: `${igauth.url}/v1/parse/functions/validate` }],
    ['/hooks/functions', { functionName: 'igExchange', url: `${igauth.url}/v1/parse/functions/exchange` }],
    ['/hooks/triggers', { className: '_User', triggerName: 'beforeSave', url: `${igauth.url}/v1/parse/triggers/user` }],
    ['/hooks/triggers', { className: '_User', triggerName: 'beforeLogin', url: `${igauth.url}/v1/parse/triggers/user` }],
  ];
  for (const [path, hook] of hooks) {
    const res = await p.rest('POST', path, hook, { master: true });
    assert.ok(res.status === 200 || res.status === 201, `registering ${path}: ${res.status} ${res.text}`);
  }
}

before(async () => {
  [pg, fake, stub] = await h.startedTogether(h.startPostgres(), h.startFake(), h.startPermissiveStub());
  igauth = await h.startIgauth({ fakeUrl: fake.url, apiKey, webhookKey });
  const auth = h.oauth2Auth(stub.url);
  [parse, wrongKeyParse] = await h.startedTogether(
    h.startParse(pg, { name: 'parse-webhooks', options: { auth, webhookKey } }),
    h.startParse(pg, { name: 'parse-wrong-key', options: { auth, webhookKey: h.secret('not-igauths-key') } }),
  );
  await registerHooks(parse);
  await registerHooks(wrongKeyParse);
});

after(async () => {
  await h.stopAll(parse, wrongKeyParse, igauth, stub, fake, pg);
  done();
});

const show = (res) => `${res.status} ${h.redact(res.text)}`;

/** Parse's 141 with the plain "could not be verified" sentence and no operator detail. */
function assertUnverifiable(res) {
  assert.equal(res.json?.code, 141, show(res));
  assert.equal(res.json.error, UNVERIFIABLE);
  assert.doesNotMatch(res.text, /igauth|IGAUTH_|webhook/i);
}

/** igauth's WARN lines that mention `what` (the harness runs it at RUST_LOG=warn). */
const igauthWarnings = (what) => igauth.proc.output.split('\n').filter((l) => l.includes('WARN') && l.includes(what));
const callFunction = (p, name, params) => p.rest('POST', `/functions/${name}`, params);

test('function webhook: valid authData passes, a mismatch is refused', async () => {
  const ok = await callFunction(parse, 'igValidate', { id: ID, access_token: `IGT-${ID}-fn` });
  assert.equal(ok.status, 200, show(ok));
  // user_id: the professional-account id the fake derives (9 + id); identity is `id`.
  assert.deepEqual(ok.json.result, { valid: true, id: ID, user_id: `9${ID}`, username: `user${ID}` });

  const mismatch = await callFunction(parse, 'igValidate', { id: OTHER, access_token: `IGT-${ID}-fn` });
  assert.equal(mismatch.json?.code, 141, show(mismatch));
  assert.equal(mismatch.json.error, INVALID);
});

test('exchange webhook, then signup and repeat login with its authData through the beforeSave webhook', async () => {
  const ex = await callFunction(parse, 'igExchange', { code: `CODE-${ID}`, redirect_uri: h.REDIRECT_URI });
  assert.equal(ex.status, 200, show(ex));
  assert.equal(ex.json.result.authData.instagram.id, ID, 'exact 64-bit id through the webhook');

  const signup = await parse.logInWith(ex.json.result.authData, { nickname: 'heron' });
  assert.equal(signup.status, 201, show(signup));
  assert.match(signup.json.sessionToken, /^r:/);
  const login = await parse.logInWith({ instagram: { id: ID, access_token: `IGT-${ID}-again` } });
  assert.equal(login.status, 200, show(login));
  assert.equal(login.json.objectId, signup.json.objectId);
});

test('beforeSave webhook: valid authData passes and the saved user keeps all its other fields', async () => {
  const id = '9007199254740993'; // 2^53 + 1
  const fields = {
    nickname: 'kestrel',
    age: 41,
    verified: true,
    tags: ['birds', 'night'],
    profile: { city: 'Tromsø', links: ['https://example.org/k'] },
    bio: 'quotes " and \\ and ünïcödé ✓',
  };
  const signup = await parse.logInWith({ instagram: { id, access_token: `IGT-${id}-save` } }, fields);
  assert.equal(signup.status, 201, show(signup));
  const stored = await parse.rest('GET', `/users/${signup.json.objectId}`, undefined, { master: true });
  assert.equal(stored.status, 200, show(stored));
  for (const [k, v] of Object.entries(fields)) assert.deepEqual(stored.json[k], v, `field ${k}`);
  assert.equal(stored.json.authData.instagram.id, id);
});

test('beforeSave webhook: a mismatch and a bad token are refused although the adapter let them in', async () => {
  const stubCalls = stub.calls();
  const cases = {
    // The stub says this token is OTHER's; Instagram says it is ID's.
    mismatch: { id: OTHER, access_token: `IGT-${ID}-as-${OTHER}` },
    'bad token': { id: OTHER, access_token: `BAD-${OTHER}` },
    'expired token': { id: OTHER, access_token: `IGX-${OTHER}` },
  };
  for (const [name, instagram] of Object.entries(cases)) {
    const res = await parse.logInWith({ instagram }, { nickname: `refused-${name}` });
    assert.equal(res.json?.code, 141, `${name}: ${show(res)}`);
    assert.equal(res.json.error, INVALID, name);
  }
  assert.equal(stub.calls() - stubCalls, 3, 'the permissive adapter accepted all three');
  const saved = await parse.rest('GET', `/users?where=${encodeURIComponent(JSON.stringify({ nickname: { $regex: '^refused-' } }))}`, undefined, {
    master: true,
  });
  assert.deepEqual(saved.json.results, [], 'no refused user was written');
});

test('Instagram down: the beforeSave webhook refuses with the plain "could not be verified" sentence; igauth logs why', async () => {
  const { res, token } = await h.logInWhileInstagramDown(fake, parse, OTHER);
  assertUnverifiable(res);
  const logged = igauthWarnings('no verdict on Instagram authData');
  assert.ok(logged.some((l) => /Instagram answered with HTTP 5\d\d/.test(l)), `no reason in igauth's log:\n${igauth.proc.tail()}`);
  assert.ok(!igauth.proc.output.includes(token), 'no token in igauth\'s log');
});

test('a wrong webhook key is refused: the app reads the plain sentence, igauth logs why', async () => {
  const signup = await wrongKeyParse.logInWith({ instagram: { id: OTHER, access_token: `IGT-${OTHER}-key` } });
  assertUnverifiable(signup);
  const fn = await callFunction(wrongKeyParse, 'igValidate', { id: OTHER, access_token: `IGT-${OTHER}-key` });
  assertUnverifiable(fn);
  assert.ok(igauthWarnings('X-Parse-Webhook-Key is wrong').length > 0, `not logged:\n${igauth.proc.tail()}`);

  // And straight at igauth: no key, or a wrong one, is never a success.
  const body = { params: { id: OTHER, access_token: `IGT-${OTHER}-key` } };
  for (const headers of [{}, { 'X-Parse-Webhook-Key': 'wrong' }]) {
    const res = await h.call(`${igauth.url}/v1/parse/functions/validate`, { method: 'POST', headers, json: body });
    assert.equal(res.status, 200, "Parse's protocol: always 200");
    assert.equal(res.json.success, undefined, show(res));
    assert.equal(res.json.error, UNVERIFIABLE);
  }
  const right = await h.call(`${igauth.url}/v1/parse/functions/validate`, {
    method: 'POST',
    headers: { 'X-Parse-Webhook-Key': webhookKey },
    json: body,
  });
  assert.equal(right.json.success?.valid, true, show(right));
});

test('the user trigger answers a pass with the body {} and nothing else (no "success" object)', async () => {
  const object = `{"nickname":"x","score":123456789012345678901234567890,"ratio":1.10,"authData":{"instagram":{"id":"${ID}","access_token":"IGT-${ID}-raw"}},"className":"_User"}`;
  const res = await h.call(`${igauth.url}/v1/parse/triggers/user`, {
    method: 'POST',
    headers: { 'X-Parse-Webhook-Key': webhookKey, 'content-type': 'application/json' },
    body: `{"triggerName":"beforeSave","object":${object},"master":false}`,
  });
  assert.equal(res.status, 200);
  assert.equal(res.text, '{}', 'a "success" object would replace the write and come back to the client in full');
});

// What `{}` does in a real Parse Server 9.10: the write stays exactly as the client sent it, and
// Parse answers only what it wrote itself (a "success" echo made Parse count every field as
// changed by the trigger and answer the whole user, token and ACL included).
test('beforeSave webhook pass: save answers carry no authData, signup fields are kept, Increments add up', async () => {
  const id = '17841400000000042';
  const token = `IGT-${id}-quiet`;
  const signup = await parse.logInWith({ instagram: { id, access_token: token } }, { nickname: 'wren', score: 0 });
  assert.equal(signup.status, 201, show(signup));
  assert.equal(signup.json.authData, undefined, `signup answer: ${show(signup)}`);
  assert.ok(!signup.text.includes(token), 'the token does not come back in the signup answer');
  for (const key of ['nickname', 'score', 'ACL']) assert.equal(signup.json[key], undefined, `${key} in ${show(signup)}`);
  const userId = signup.json.objectId;
  const asUser = { headers: { 'X-Parse-Session-Token': signup.json.sessionToken } };

  // A one-field profile save: the answer is just updatedAt, no authData, ACL or other fields.
  const edit = await parse.rest('PUT', `/users/${userId}`, { nickname: 'winter wren' }, asUser);
  assert.equal(edit.status, 200, show(edit));
  assert.deepEqual(Object.keys(edit.json), ['updatedAt'], show(edit));
  assert.ok(!edit.text.includes(token));

  // 20 concurrent Increments: each reaches the database as an Increment, none is lost.
  const bumps = await Promise.all(
    Array.from({ length: 20 }, () => parse.rest('PUT', `/users/${userId}`, { score: { __op: 'Increment', amount: 1 } }, asUser)),
  );
  for (const res of bumps) assert.equal(res.status, 200, show(res));
  const stored = await parse.rest('GET', `/users/${userId}`, undefined, { master: true });
  assert.equal(stored.status, 200, show(stored));
  assert.equal(stored.json.score, 20, 'every concurrent Increment counted');
  assert.equal(stored.json.nickname, 'winter wren');
  assert.equal(stored.json.authData.instagram.id, id, 'authData kept');
  assert.equal(stored.json.authData.instagram.access_token, token);
});

// Parse runs beforeLogin on password logins too, with the stored user (authData and all): the
// trigger cannot tell the login method, so "no verdict" lets the login through (and igauth logs why).
test('beforeLogin webhook: a user who added a password logs in with it while Instagram answers 500', async () => {
  const id = '17841400000000078';
  const token = `IGT-${id}-pw`;
  const signup = await parse.logInWith({ instagram: { id, access_token: token } });
  assert.equal(signup.status, 201, show(signup));
  const user = { username: `sandpiper-${signup.json.objectId}`, password: h.secret('pw') };
  const set = await parse.rest('PUT', `/users/${signup.json.objectId}`, user, {
    headers: { 'X-Parse-Session-Token': signup.json.sessionToken },
  });
  assert.equal(set.status, 200, show(set));

  await fake.mode('500');
  try {
    const login = await parse.rest('POST', '/login', user);
    assert.equal(login.status, 200, show(login));
    assert.equal(login.json.objectId, signup.json.objectId);
    assert.match(login.json.sessionToken, /^r:/);
  } finally {
    await fake.mode('ok');
  }
  const logged = igauthWarnings('beforeLogin webhook: no verdict');
  assert.ok(logged.some((l) => /login let through: Instagram answered with HTTP 5\d\d/.test(l)), `not logged:\n${igauth.proc.tail()}`);
  assert.ok(!igauth.proc.output.includes(token), "no token in igauth's log");
});

// Pinned Parse behaviour, not igauth's choice: a webhook trigger that cannot be reached fails
// the login in Parse itself (its HTTP call rejects), so with the beforeLogin webhook registered
// logins depend on igauth being up. Cloud Code (main.js) lets them through instead.
test('igauth stopped: Parse refuses logins through an unreachable beforeLogin webhook (pinned)', async () => {
  const id = '17841400000000079';
  const signup = await parse.logInWith({ instagram: { id, access_token: `IGT-${id}-pw` } });
  assert.equal(signup.status, 201, show(signup));
  const user = { username: `dunlin-${signup.json.objectId}`, password: h.secret('pw') };
  const set = await parse.rest('PUT', `/users/${signup.json.objectId}`, user, {
    headers: { 'X-Parse-Session-Token': signup.json.sessionToken },
  });
  assert.equal(set.status, 200, show(set));

  await igauth.stop(); // asserts a clean exit
  const login = await parse.rest('POST', '/login', user);
  // Parse's own answer, e.g. 141 "connect ECONNREFUSED 127.0.0.1:<port>": not igauth's text.
  assert.equal(login.json?.code, 141, show(login));
  assert.equal(login.json.sessionToken, undefined);
});
