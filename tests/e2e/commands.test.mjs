// `igauth doctor` and `igauth meta-test` against a real Parse Server 9 on PostgreSQL: doctor
// names a Parse URL without its mount path and a wrong master key (exit 1), and says all is
// well when it is (exit 0); meta-test signs a data-deletion request as Meta does, sends it to
// a running igauth, and its status URL says completed once the user is gone.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import * as h from './harness.mjs';

const done = h.timer('commands (e2e)');
const IGAUTH_BIN = process.env.IGAUTH_BIN ?? path.join(h.REPO, 'target/release/igauth');
const PUBLIC_URL = 'https://auth.example';
const USER = '17841400000000077';

let pg, fake, introspector, parse, igauth;

/** Runs `igauth <args>` with only these IGAUTH_* settings; resolves { code, stdout, stderr }. */
function igauthRun(args, env) {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('IGAUTH_')));
  return new Promise((resolve) => {
    execFile(IGAUTH_BIN, args, { env: { ...clean, ...env }, timeout: 60000 }, (error, stdout, stderr) => {
      resolve({ code: error ? error.code : 0, stdout, stderr });
    });
  });
}

/** Settings that reach the fake Instagram and `parse` (as given). */
const doctorEnv = (overrides = {}) => ({
  IGAUTH_INSTAGRAM__API_URL: fake.url,
  IGAUTH_INSTAGRAM__GRAPH_URL: fake.url,
  IGAUTH_INSTAGRAM__AUTHORIZE_URL: `${fake.url}/oauth/authorize`,
  IGAUTH_PARSE__SERVER_URL: parse.url,
  IGAUTH_PARSE__APP_ID: parse.appId,
  IGAUTH_PARSE__MASTER_KEY: parse.masterKey,
  ...overrides,
});

before(async () => {
  [pg, fake] = await h.startedTogether(h.startPostgres(), h.startFake());
  const apiKey = h.secret('api');
  introspector = await h.startIgauth({ fakeUrl: fake.url, apiKey });
  parse = await h.startParse(pg, {
    name: 'parse-commands',
    options: { auth: h.oauth2Auth(`${introspector.url}/v1/introspect`, `Bearer ${apiKey}`) },
  });
  igauth = await h.startIgauth({
    fakeUrl: fake.url,
    env: {
      IGAUTH_SERVER__PUBLIC_URL: PUBLIC_URL,
      IGAUTH_PARSE__SERVER_URL: parse.url,
      IGAUTH_PARSE__APP_ID: parse.appId,
      IGAUTH_PARSE__MASTER_KEY: parse.masterKey,
    },
  });
});

after(async () => {
  await h.stopAll(igauth, parse, introspector, fake, pg);
  done();
});

test('doctor: all good exits 0, one ok line per check', async () => {
  const run = await igauthRun(['doctor'], doctorEnv());
  assert.equal(run.code, 0, run.stdout + run.stderr);
  assert.doesNotMatch(run.stdout, /PROBLEM/);
  assert.match(run.stdout, /^ok {6}Parse answers \(IGAUTH_PARSE__SERVER_URL\)/m);
  assert.match(run.stdout, /^ok {6}Parse takes the app id and master key/m);
  assert.ok(!run.stdout.includes(parse.masterKey), 'the master key is not printed');
});

test('doctor: a Parse URL without /parse is named, exit 1', async () => {
  const run = await igauthRun(['doctor'], doctorEnv({ IGAUTH_PARSE__SERVER_URL: parse.url.replace(/\/parse$/, '') }));
  assert.equal(run.code, 1, run.stdout + run.stderr);
  assert.match(run.stdout, /^PROBLEM Parse answers .*404: does IGAUTH_PARSE__SERVER_URL end with Parse's mount path/m);
});

test('doctor: a wrong master key names IGAUTH_PARSE__MASTER_KEY and masterKeyIps, exit 1', async () => {
  const run = await igauthRun(['doctor'], doctorEnv({ IGAUTH_PARSE__MASTER_KEY: h.secret('wrong-master') }));
  assert.equal(run.code, 1, run.stdout + run.stderr);
  const line = run.stdout.split('\n').find((l) => l.startsWith('PROBLEM'));
  assert.ok(line?.includes('IGAUTH_PARSE__MASTER_KEY') && line.includes('masterKeyIps'), run.stdout);
});

test('meta-test data-deletion <id> ends in a status URL that says completed', async () => {
  const signup = await parse.logInWith({ instagram: { id: USER, access_token: `IGT-${USER}` } });
  assert.ok(signup.status === 200 || signup.status === 201, `signup: ${signup.status} ${h.redact(signup.text)}`);
  const run = await igauthRun(['meta-test', 'data-deletion', USER, '--url', igauth.url], {
    IGAUTH_INSTAGRAM__CLIENT_SECRET: h.CLIENT_SECRET,
  });
  assert.equal(run.code, 0, run.stdout + run.stderr);
  const statusUrl = run.stdout.match(/^status: (\S+)$/m)?.[1];
  assert.ok(statusUrl?.startsWith(`${PUBLIC_URL}/v1/meta/data-deletion/`), run.stdout);
  // PUBLIC_URL is what Meta shows people; the same path on the running igauth answers.
  const statusPath = statusUrl.slice(PUBLIC_URL.length);
  const status = await h.until('the deletion to complete', async () => {
    const res = await h.call(`${igauth.url}${statusPath}`, { headers: { Accept: 'application/json' } });
    return res.json?.status === 'completed' && res;
  });
  assert.equal(status.json.users, 1, status.text);
  const gone = await parse.rest('GET', `/users/${signup.json.objectId}`, undefined, { master: true });
  assert.equal(gone.status, 404, 'the user is deleted');
});
