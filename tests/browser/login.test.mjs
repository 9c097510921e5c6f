// The login flow end to end, the way a person sees it, in headless Debian Chromium, through the
// web recipe the demo page runs: igauth's demo page makes a PKCE verifier (crypto.subtle) ->
// "Log in with Instagram" -> /v1/authorize with the S256 challenge -> the project's fake
// Instagram consent page -> "Allow" -> /v1/callback?code=..&state=..#_ -> back on the demo page
// with only a one-time code in the fragment -> POST /v1/token with the verifier -> the authData
// and a session of a real Parse Server 9 (PostgreSQL, no `auth` option), shown only for a login
// the page started itself (a random value in sessionStorage, carried in return_to as ?demo=...,
// must come back): crafted links show nothing.
//
// Needs release builds (`cargo build --release -p igauth -p fake-instagram`); IGAUTH_BIN and
// FAKE_IG_BIN point elsewhere, CHROMIUM_BIN at another browser. Run: node --test tests/browser/
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import * as h from '../e2e/harness.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const IGAUTH_BIN = process.env.IGAUTH_BIN || path.join(root, 'target/release/igauth');
const FAKE_IG_BIN = process.env.FAKE_IG_BIN || path.join(root, 'target/release/fake-instagram');
const CHROMIUM = process.env.CHROMIUM_BIN || '/usr/bin/chromium';
const SCREENSHOT_DIR = process.env.SCREENSHOT_DIR || tmpdir();
// The fake's consent page hands out codes for this user: odd and above 2^53, so any trip through
// a double would change it.
const USER_ID = '17841405793187219';
const CLIENT_SECRET = 'fake-secret';
const STATE_SECRET = randomBytes(32).toString('hex');
// What Debian's chromium needs to run headless as root in a container.
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

const children = [];
let context;
let userDataDir;
let fakeBase;
let igauthBase;
let igauthLog = '';
let pg;
let parse;

/** A port that was free a moment ago (igauth's callback URL must be known before it starts). */
function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

function start(bin, args, env) {
  const child = spawn(bin, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  return child;
}

/** Resolves with the first match of `pattern` in the child's stdout. */
function waitForLine(child, pattern, what) {
  return new Promise((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(() => reject(new Error(`${what} did not start: ${seen}`)), 30_000);
    child.stdout.on('data', (chunk) => {
      seen += chunk;
      const match = seen.match(pattern);
      if (match) {
        clearTimeout(timer);
        resolve(match);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${what} exited with ${code}: ${seen}`));
    });
  });
}

async function waitUntilReady(base, child) {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`igauth exited with ${child.exitCode}:\n${igauthLog}`);
    try {
      const res = await fetch(`${base}/readyz`);
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`igauth never became ready:\n${igauthLog}`);
}

before(async () => {
  for (const [name, file] of [['IGAUTH_BIN', IGAUTH_BIN], ['FAKE_IG_BIN', FAKE_IG_BIN], ['CHROMIUM_BIN', CHROMIUM]]) {
    assert.ok(
      existsSync(file),
      `${file} is missing (${name}); build with: cargo build --release -p igauth -p fake-instagram` +
        ', and install chromium (apt-get install chromium)',
    );
  }

  const fake = start(FAKE_IG_BIN, ['--bind', '127.0.0.1:0', '--client-secret', CLIENT_SECRET], process.env);
  fake.stderr.resume();
  [, fakeBase] = await waitForLine(fake, /listening on (http:\/\/\S+)/, 'fake-instagram');

  // The Parse the login ends in: no `auth` option, igauth signs people in with the master key.
  pg = await h.startPostgres();
  parse = await h.startParse(pg, { name: 'parse-browser' });

  const port = await freePort();
  igauthBase = `http://127.0.0.1:${port}`;
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('IGAUTH_')));
  Object.assign(env, {
    RUST_LOG: 'info',
    IGAUTH_SERVER__BIND: `127.0.0.1:${port}`,
    IGAUTH_SERVER__WORKERS: '1',
    IGAUTH_SERVER__DEMO: 'true',
    IGAUTH_SERVER__STATE_SECRET: STATE_SECRET,
    IGAUTH_INSTAGRAM__CLIENT_ID: '1234567890',
    IGAUTH_INSTAGRAM__CLIENT_SECRET: CLIENT_SECRET,
    IGAUTH_INSTAGRAM__API_URL: fakeBase,
    IGAUTH_INSTAGRAM__GRAPH_URL: fakeBase,
    IGAUTH_INSTAGRAM__AUTHORIZE_URL: `${fakeBase}/oauth/authorize`,
    IGAUTH_INSTAGRAM__CALLBACK_URL: `${igauthBase}/v1/callback`,
    IGAUTH_INSTAGRAM__RETURN_URLS: `${igauthBase}/v1/demo`,
    IGAUTH_INSTAGRAM__LONG_LIVED: 'true',
    IGAUTH_PARSE__SERVER_URL: parse.url,
    IGAUTH_PARSE__APP_ID: parse.appId,
    IGAUTH_PARSE__MASTER_KEY: parse.masterKey,
    IGAUTH_PARSE__SESSIONS: 'true',
  });
  const igauth = start(IGAUTH_BIN, [], env);
  igauth.stdout.on('data', (chunk) => (igauthLog += chunk));
  igauth.stderr.on('data', (chunk) => (igauthLog += chunk));
  await waitUntilReady(igauthBase, igauth);

  userDataDir = await mkdtemp(path.join(tmpdir(), 'igauth-chromium-'));
  context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
  });
});

after(async () => {
  await context?.close().catch(() => {});
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5_000))]);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
  }
  if (userDataDir) await rm(userDataDir, { recursive: true, force: true });
  await h.stopAll(parse, pg);
});

/** Every URL the page navigated to, and the callback's redirect target. */
function watch(page) {
  const seen = { navigations: [], callbackLocation: null, cspViolations: [] };
  page.on('request', (req) => {
    if (req.isNavigationRequest()) seen.navigations.push(req.url());
  });
  page.on('response', (res) => {
    if (res.url().startsWith(`${igauthBase}/v1/callback`)) seen.callbackLocation = res.headers().location;
  });
  page.on('console', (msg) => {
    if (/Content Security Policy/i.test(msg.text())) seen.cspViolations.push(msg.text());
  });
  return seen;
}

/** A new page on the demo page with a login started, now at the fake Instagram's consent page. */
async function atConsent() {
  const page = await context.newPage();
  const seen = watch(page);
  await page.goto(`${igauthBase}/v1/demo`);
  await page.click('#login');
  await page.waitForURL((url) => url.href.startsWith(`${fakeBase}/oauth/authorize`));
  return { page, seen };
}

test('the demo page logs in with PKCE, redeems the code and ends with a Parse session', { timeout: 60_000 }, async () => {
  const { page, seen } = await atConsent();
  const consent = new URL(page.url()).searchParams;
  assert.equal(consent.get('redirect_uri'), `${igauthBase}/v1/callback`);
  assert.equal(consent.get('client_id'), '1234567890');
  assert.ok(consent.get('state'), 'a state is sent');
  assert.ok(!consent.has('code_challenge'), 'the challenge stays with igauth');
  const authorize = seen.navigations.find((u) => u.startsWith(`${igauthBase}/v1/authorize?`));
  assert.equal(new URL(authorize).searchParams.get('code_challenge_method'), 'S256');
  assert.match(new URL(authorize).searchParams.get('code_challenge'), /^[\w-]{43}$/);
  assert.ok(!page.url().includes(CLIENT_SECRET), 'no client secret on the way to Instagram');
  await page.click('#allow');

  await page.waitForURL((url) => url.href.startsWith(`${igauthBase}/v1/demo`));
  await page.locator('#outcome').waitFor({ state: 'visible', timeout: 15_000 });
  const authData = JSON.parse(await page.textContent('#result'));
  assert.deepEqual(Object.keys(authData), ['instagram']);
  assert.equal(authData.instagram.id, USER_ID, 'the exact 64-bit id');
  // The hint is the exact call, with the provider's object (not the wrapper) as authData.
  assert.equal(
    await page.textContent('#call'),
    `Parse.User.logInWith("instagram", {authData: ${JSON.stringify(authData.instagram)}})`,
  );
  assert.match(authData.instagram.access_token, new RegExp(`^IGT-${USER_ID}-long-\\d+$`));
  assert.match(await page.textContent('#details'), /60 days/);
  assert.equal(await page.locator('#error').isVisible(), false);
  const shot = path.join(SCREENSHOT_DIR, 'igauth-demo-login.png');
  await page.screenshot({ path: shot, fullPage: true });

  // The session igauth made is a real one.
  const session = JSON.parse(await page.textContent('#session-result'));
  assert.equal(session.isNew, true);
  const me = await parse.rest('GET', '/users/me', undefined, { headers: { 'X-Parse-Session-Token': session.sessionToken } });
  assert.equal(me.status, 200, me.text);
  assert.equal(me.json.objectId, session.objectId);
  assert.equal(await page.locator('#steps li').count(), 4);

  // Only a one-time code came back in the fragment; the token reached the page in /v1/token's
  // answer and never in a URL. The page's own random value came back in the query of return_to.
  const token = authData.instagram.access_token;
  assert.match(seen.callbackLocation ?? '', new RegExp(`^${igauthBase}/v1/demo\\?demo=[0-9a-f]{32}#code=[\\w-]{43}$`), seen.callbackLocation);
  // (The fake Instagram's own codes carry the user's id; igauth's URLs never do.)
  for (const url of [seen.callbackLocation, page.url()]) assert.ok(!url.includes(USER_ID), `id in ${url}`);
  for (const url of [...seen.navigations, page.url(), seen.callbackLocation]) {
    assert.ok(!url.includes(token), `token in ${url}`);
    const { search } = new URL(url);
    assert.ok(!search.includes('access_token') && !search.includes(token), `token in a query: ${url}`);
    assert.ok(!url.includes(CLIENT_SECRET), `client secret in ${url}`);
  }
  assert.ok(seen.navigations.some((u) => u.startsWith(`${igauthBase}/v1/callback?code=CODE-${USER_ID}-`)));
  assert.equal(new URL(page.url()).hash, '', 'the demo removes the token from the address bar');
  assert.equal(new URL(page.url()).search, '', 'and its own value');
  assert.equal(await page.evaluate(() => sessionStorage.length), 0, 'the value is used once');
  assert.equal(await page.locator('#idle').isVisible(), false);
  assert.ok(!(await page.content()).includes(CLIENT_SECRET));
  assert.deepEqual(seen.cspViolations, [], 'the demo runs under its own CSP without violations');
  assert.ok(!igauthLog.includes(token), `the token was logged:\n${igauthLog}`);
  assert.ok(!igauthLog.includes(consent.get('state')), 'the state was logged');
  assert.match(igauthLog, /GET \/v1\/callback 302 /);
  await page.close();
});

test('declining on the consent page comes back to the demo as access_denied', { timeout: 60_000 }, async () => {
  const { page } = await atConsent();
  await page.click('#cancel');
  await page.waitForURL((url) => url.href.startsWith(`${igauthBase}/v1/demo`));
  await page.locator('#error').waitFor({ state: 'visible', timeout: 15_000 });
  assert.match(await page.textContent('#error'), /^access_denied: /);
  assert.equal(await page.locator('#outcome').isVisible(), false);
  await page.close();
});

test('going back to a used callback link does not log in again', { timeout: 60_000 }, async () => {
  const { page, seen } = await atConsent();
  await page.click('#allow');
  await page.locator('#outcome').waitFor({ state: 'visible', timeout: 15_000 });
  const callback = seen.navigations.find((u) => u.startsWith(`${igauthBase}/v1/callback?`));
  assert.ok(callback);

  await page.goto(callback);
  // igauth refuses the replayed state; the page's value was used up by the first login, so the
  // page shows neither that refusal nor any result, only that no login was in progress.
  await page.locator('#idle').waitFor({ state: 'visible', timeout: 15_000 });
  assert.match(seen.callbackLocation ?? '', /#error=invalid_state&/, seen.callbackLocation);
  assert.equal(await page.locator('#error').isVisible(), false);
  assert.equal(await page.locator('#outcome').isVisible(), false);
  await page.close();
});

/** The page's visible text. */
const visibleText = (page) => page.evaluate(() => document.body.innerText);

test('a crafted link cannot make the demo show an error text on igauth\'s origin', { timeout: 60_000 }, async () => {
  const page = await context.newPage();
  await page.goto(`${igauthBase}/v1/demo#error=account_locked&error_description=Call+support+at+555-0100`);
  await page.locator('#idle').waitFor({ state: 'visible', timeout: 15_000 });
  assert.equal(await page.locator('#error').isVisible(), false);
  assert.equal(await page.textContent('#error'), '');
  const text = await visibleText(page);
  assert.ok(!/account_locked|Call support|555-0100/.test(text), text);
  assert.equal(new URL(page.url()).hash, '', 'the fragment is stripped from the address bar all the same');
  const shot = path.join(SCREENSHOT_DIR, 'igauth-demo-crafted-link.png');
  await page.screenshot({ path: shot, fullPage: true });
  await page.close();
});

test('a crafted token link shows nothing without the value this tab stored', { timeout: 60_000 }, async () => {
  const page = await context.newPage();
  // No value stored in this tab at all.
  await page.goto(`${igauthBase}/v1/demo#id=1&access_token=IGT-crafted-1`);
  await page.locator('#idle').waitFor({ state: 'visible', timeout: 15_000 });
  assert.equal(await page.locator('#outcome').isVisible(), false);
  assert.equal(await page.textContent('#result'), '');
  assert.ok(!(await visibleText(page)).includes('IGT-crafted'));
  assert.equal(new URL(page.url()).hash, '');

  // A value stored, but the link carries another one (or none).
  for (const query of [`?demo=${'b'.repeat(32)}`, '']) {
    await page.evaluate(() => sessionStorage.setItem('igauth-demo-login', 'a'.repeat(32)));
    await page.goto('about:blank'); // a real load next, not a same-document fragment change
    await page.goto(`${igauthBase}/v1/demo${query}#id=2&access_token=IGT-crafted-2`);
    await page.locator('#idle').waitFor({ state: 'visible', timeout: 15_000 });
    assert.equal(await page.locator('#outcome').isVisible(), false, query);
    assert.equal(await page.textContent('#result'), '', query);
    assert.ok(!(await visibleText(page)).includes('IGT-crafted'), query);
    assert.equal(new URL(page.url()).hash, '', query);
    assert.equal(new URL(page.url()).search, '', query);
    assert.equal(await page.evaluate(() => sessionStorage.length), 0, `a mismatch uses the value up too ${query}`);
  }
  await page.close();
});

test('the data-deletion status page renders under its own CSP', { timeout: 60_000 }, async () => {
  // Signed with the app secret the way Meta signs its data-deletion callback.
  const { createHmac } = await import('node:crypto');
  const payload = Buffer.from(JSON.stringify({ algorithm: 'HMAC-SHA256', issued_at: Math.floor(Date.now() / 1000), user_id: USER_ID })).toString('base64url');
  const signature = createHmac('sha256', CLIENT_SECRET).update(payload).digest('base64url');
  const res = await fetch(`${igauthBase}/v1/meta/data-deletion`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ signed_request: `${signature}.${payload}` }),
  });
  assert.equal(res.status, 200);
  const { url, confirmation_code: code } = await res.json();
  // No public URL is configured: the status link uses the callback URL's origin.
  assert.equal(url, `${igauthBase}/v1/meta/data-deletion/${code}`);

  const page = await context.newPage();
  const seen = watch(page);
  const requests = [];
  page.on('request', (req) => requests.push(req.url()));
  await page.goto(url);
  assert.equal(await page.textContent('h1'), 'Your data deletion request');
  assert.equal(await page.textContent('#code'), code);
  // The first test's login made this person's Parse user; the request deleted it.
  assert.equal(await page.textContent('#status'), 'Completed');
  assert.match(await page.getAttribute('#requested', 'datetime'), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  assert.ok(!(await visibleText(page)).includes(USER_ID), 'the page shows no Instagram id');
  // It speaks to the person: no setting name, no operator advice, anywhere in the page.
  const html = await page.content();
  for (const operatorWords of ['IGAUTH_', 'directAccess', 'master key', 'Parse']) {
    assert.ok(!html.includes(operatorWords), `${operatorWords} on the status page`);
  }
  assert.match(await page.textContent('#contact'), /Contact this app/);
  // The inline style applied (allowed by its hash): the status badge has its background.
  const badge = await page.evaluate(() => getComputedStyle(document.getElementById('status')).backgroundColor);
  assert.equal(badge, 'rgb(231, 243, 232)');
  assert.deepEqual(seen.cspViolations, [], 'no CSP violations');
  assert.deepEqual(requests, [url], 'self-contained: no other request');
  await page.screenshot({ path: path.join(SCREENSHOT_DIR, 'igauth-data-deletion-status.png'), fullPage: true });

  await page.goto(`${igauthBase}/v1/meta/data-deletion/${'0'.repeat(40)}`);
  assert.match(await visibleText(page), /not known here/);
  await page.close();
});
