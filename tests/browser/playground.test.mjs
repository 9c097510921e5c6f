// `bash scripts/playground.sh`'s sample page, clicked through in headless Debian Chromium as a
// newcomer would: "Log in with Instagram" -> the fake Instagram's consent page -> "Allow" -> back
// on the page, whose own script redeems the #code= at igauth's /v1/token with its PKCE verifier
// (cross-origin) and logs in to the playground's Parse Server (way 1: Parse asks igauth's
// /v1/introspect). It ends showing a Parse session. The e2e test (tests/e2e/playground.test.mjs)
// checks the script's start and stop; this one checks the page's script really works.
//
// Needs release builds and PostgreSQL + the e2e node_modules (the playground's Parse side).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import * as h from '../e2e/harness.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const CHROMIUM = process.env.CHROMIUM_BIN || '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

let child;
let context;
let userDataDir;

after(async () => {
  await context?.close().catch(() => {});
  if (userDataDir) await rm(userDataDir, { recursive: true, force: true });
  if (child) {
    try {
      process.kill(-child.pid, 'SIGINT');
    } catch {
      /* already gone */
    }
  }
});

test('the playground page logs in through PKCE and /v1/token and shows a Parse session', { timeout: 240_000 }, async () => {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('IGAUTH_')));
  env.IGAUTH_BIN = process.env.IGAUTH_BIN || path.join(root, 'target/release/igauth');
  env.FAKE_IG_BIN = process.env.FAKE_IG_BIN || path.join(root, 'target/release/fake-instagram');
  child = spawn('bash', [path.join(root, 'scripts/playground.sh')], { env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c) => (stdout += c));
  child.stderr.on('data', (c) => (stderr += c));
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  const open = await h.until('the open line', async () => stdout.match(/^open (\S+)\n/)?.[1], { timeoutMs: 180_000 })
    .catch((e) => assert.fail(`${e.message}\n${stderr}`));
  assert.ok(!open.endsWith('/v1/demo'), `the playground found no Parse side here:\n${stderr}`);

  userDataDir = await mkdtemp(path.join(tmpdir(), 'igauth-chromium-'));
  context = await chromium.launchPersistentContext(userDataDir, { executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
  const page = await context.newPage();
  const tokenCalls = [];
  page.on('response', (res) => {
    if (new URL(res.url()).pathname === '/v1/token' && res.request().method() === 'POST') tokenCalls.push(res.status());
  });
  await page.goto(open);
  await page.click('#login');
  await page.waitForURL((url) => url.pathname === '/oauth/authorize');
  await page.click('#allow');
  await page.waitForURL((url) => url.href.startsWith(open));
  await Promise.race([
    page.locator('#result').waitFor({ state: 'visible', timeout: 20_000 }),
    page.locator('#error').waitFor({ state: 'visible', timeout: 20_000 }).then(async () => {
      assert.fail(`the page says: ${await page.textContent('#error')}`);
    }),
  ]);
  const session = JSON.parse(await page.textContent('#result'));
  assert.match(session.sessionToken ?? '', /^r:/, 'a Parse session');
  assert.ok(session.objectId);
  assert.deepEqual(tokenCalls, [200], 'the page redeemed its code at /v1/token once');
  assert.equal(new URL(page.url()).hash, '', 'the code is gone from the address bar');

  process.kill(-child.pid, 'SIGINT');
  const exit = await exited;
  assert.ok(exit.code === 130 || exit.signal === 'SIGINT', `exit ${JSON.stringify(exit)}\n${stderr}`);
  child = undefined;
});
