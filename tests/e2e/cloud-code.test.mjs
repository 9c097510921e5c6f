// Way 3: deploy/parse-server/cloud/main.js loaded unchanged as Parse's `cloud` file, in a Parse
// Server run of its own with no webhooks (a webhook trigger would replace the Cloud Code one).
// Parse's provider check is permissive on purpose (a stub introspection endpoint, as on a host
// whose own Instagram check is weak), so the Cloud Code hooks are the gate.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import * as h from './harness.mjs';

const { ID, OTHER, UNVERIFIABLE } = h;
const INVALID = 'Instagram auth is invalid for this user.';

const done = h.timer('cloud code (e2e)');
const apiKey = h.secret('api');
let pg, fake, stub, igauth, parse;

before(async () => {
  [pg, fake, stub] = await h.startedTogether(h.startPostgres(), h.startFake(), h.startPermissiveStub());
  igauth = await h.startIgauth({ fakeUrl: fake.url, apiKey });
  parse = await h.startParse(pg, {
    name: 'parse-cloud',
    options: { auth: h.oauth2Auth(stub.url), cloud: path.join(h.REPO, 'deploy/parse-server/cloud/main.js') },
    env: { IGAUTH_URL: igauth.url, IGAUTH_API_KEY: apiKey },
  });
});

after(async () => {
  await h.stopAll(parse, igauth, stub, fake, pg);
  done();
});

const show = (res) => `${res.status} ${h.redact(res.text)}`;

/** The plain "could not be verified" answer, with no operator detail in it. */
function assertUnverifiable(res) {
  assert.equal(res.json?.code, 101, show(res));
  assert.equal(res.json.error, UNVERIFIABLE);
  assert.doesNotMatch(res.text, /igauth|IGAUTH_/i);
  assert.equal(res.json.sessionToken, undefined);
}

/** Parse's log lines written by main.js (Cloud Code's console output). */
const cloudLog = (what) => parse.proc.output.split('\n').filter((l) => l.startsWith('igauth ') && l.includes(what));
const asUser = (sessionToken) => ({ headers: { 'X-Parse-Session-Token': sessionToken } });

test('valid signup and repeat logins pass through the Cloud Code hooks; other fields are kept', async () => {
  const meCalls = (await fake.stats()).me_calls;
  const signup = await parse.logInWith({ instagram: { id: ID, access_token: `IGT-${ID}-1` } }, { nickname: 'kestrel' });
  assert.equal(signup.status, 201, show(signup));
  assert.match(signup.json.sessionToken, /^r:/);
  for (const n of [2, 3]) {
    const login = await parse.logInWith({ instagram: { id: ID, access_token: `IGT-${ID}-${n}` } });
    assert.equal(login.status, 200, show(login));
    assert.equal(login.json.objectId, signup.json.objectId);
  }
  const stored = await parse.rest('GET', `/users/${signup.json.objectId}`, undefined, { master: true });
  assert.equal(stored.json.nickname, 'kestrel');
  assert.equal(stored.json.authData.instagram.id, ID);
  // beforeSave on the signup, beforeLogin on each login: the hooks did ask Instagram.
  assert.ok((await fake.stats()).me_calls - meCalls >= 3, 'the hooks called igauth');
});

test('a bad, expired or mismatched token is refused at signup through the hooks with code 101', async () => {
  const stubCalls = stub.calls();
  const cases = {
    'bad token': { id: OTHER, access_token: `BAD-${OTHER}` },
    'expired token': { id: OTHER, access_token: `IGX-${OTHER}` },
    mismatch: { id: OTHER, access_token: `IGT-${ID}-as-${OTHER}` },
  };
  for (const [name, instagram] of Object.entries(cases)) {
    const res = await parse.logInWith({ instagram });
    assert.equal(res.json?.code, 101, `${name}: ${show(res)}`);
    assert.equal(res.json.error, INVALID, name);
  }
  assert.equal(stub.calls() - stubCalls, 3, 'the permissive adapter accepted all three: the hooks refused them');
});

// Parse runs beforeLogin on the user AS STORED (the authData of the previous signup or login),
// before it validates and stores this login's authData, and runs no beforeSave on a login.
// These pin that behaviour and how main.js deals with it.
test('beforeLogin sees the stored authData: a stale stored token locks no one out, a forged one is caught', async () => {
  const id = '9007199254740993';
  const signup = await parse.logInWith({ instagram: { id, access_token: `IGT-${id}-1` } }, { nickname: 'heron' });
  assert.equal(signup.status, 201, show(signup));

  // A login with an expired token is judged only by the (here permissive) adapter: Cloud Code
  // cannot see it. Parse then stores it, as it stores every login's token.
  const stale = await parse.logInWith({ instagram: { id, access_token: `IGX-${id}` } });
  assert.equal(stale.status, 200, `pinned Parse behaviour: beforeLogin judged the stored token, not this one: ${show(stale)}`);

  // Profile edits carry the stored (now expired) authData along: not a login, not refused.
  const edit = await parse.rest('PUT', `/users/${signup.json.objectId}`, { nickname: 'grey heron' }, asUser(stale.json.sessionToken));
  assert.equal(edit.status, 200, show(edit));

  // The user comes back with a fresh token: the expired stored one must not lock them out.
  const back = await parse.logInWith({ instagram: { id, access_token: `IGT-${id}-2` } });
  assert.equal(back.status, 200, show(back));

  // A token Instagram says is someone else's got stored past the weak adapter: the next login
  // to this account is refused.
  const forged = await parse.logInWith({ instagram: { id, access_token: `IGT-${OTHER}-as-${id}` } });
  assert.equal(forged.status, 200, `pinned: the login that stores it is not seen by Cloud Code: ${show(forged)}`);
  const next = await parse.logInWith({ instagram: { id, access_token: `IGT-${id}-3` } });
  assert.equal(next.json?.code, 101, show(next));
  assert.equal(next.json.error, INVALID);
});

// Parse runs beforeLogin on password logins too, with the same stored user (authData and all):
// the hook cannot tell the login method, so "no verdict" must not lock anyone out.
let passwordUser; // { objectId, username, password, token } once the next test made it

/** A user who signed up with Instagram and later set a username and password. */
async function instagramUserWithPassword(id, label) {
  const token = `IGT-${id}-${label}`;
  const signup = await parse.logInWith({ instagram: { id, access_token: token } });
  assert.equal(signup.status, 201, show(signup));
  const username = `${label}-${signup.json.objectId}`;
  const password = h.secret('pw');
  const set = await parse.rest('PUT', `/users/${signup.json.objectId}`, { username, password }, asUser(signup.json.sessionToken));
  assert.equal(set.status, 200, show(set));
  return { objectId: signup.json.objectId, username, password, token };
}

const passwordLogin = ({ username, password }) => parse.rest('POST', '/login', { username, password });

function assertLoggedIn(res, user) {
  assert.equal(res.status, 200, show(res));
  assert.equal(res.json.objectId, user.objectId);
  assert.match(res.json.sessionToken, /^r:/);
}

test('Instagram down: a user who added a password still logs in with it; Parse logs why beforeLogin let it through', async () => {
  passwordUser = await instagramUserWithPassword('17841400000000077', 'plover');
  assertLoggedIn(await passwordLogin(passwordUser), passwordUser); // Instagram up: a verdict, valid
  await fake.mode('500');
  try {
    assertLoggedIn(await passwordLogin(passwordUser), passwordUser);
  } finally {
    await fake.mode('ok');
  }
  const logged = cloudLog('let through, no verdict');
  assert.ok(logged.some((l) => l.includes(passwordUser.objectId) && l.includes('igauth answered HTTP 5')), `not logged:\n${parse.proc.tail()}`);
  for (const line of logged) assert.ok(!line.includes(passwordUser.token), 'no token in the log line');
});

test('Instagram down: refused with code 101 and the plain "could not be verified" sentence; the reason is logged', async () => {
  const { res, token } = await h.logInWhileInstagramDown(fake, parse, OTHER);
  assertUnverifiable(res);
  // /v1/validate answers 5xx when Instagram is down: the operator reads that in Parse's log.
  const logged = cloudLog('igauth answered HTTP 5');
  assert.ok(logged.length > 0, `no reason in Parse's log:\n${parse.proc.tail()}`);
  for (const line of logged) assert.ok(!line.includes(token), 'no token in the log line');
});

test('igauth unreachable: refused with the plain sentence, the reason is logged (and igauth exits 0 on SIGTERM)', async () => {
  await igauth.stop(); // asserts a clean exit
  const res = await parse.logInWith({ instagram: { id: OTHER, access_token: `IGT-${OTHER}-unreachable` } });
  assertUnverifiable(res);
  assert.ok(cloudLog('igauth is unreachable').length > 0, `no reason in Parse's log:\n${parse.proc.tail()}`);

  // beforeLogin has no verdict either: the password login goes through.
  assertLoggedIn(await passwordLogin(passwordUser), passwordUser);
  assert.ok(cloudLog('let through, no verdict').some((l) => l.includes('igauth is unreachable')), parse.proc.tail());
});
