// `bash scripts/playground.sh` once, as a newcomer runs it: it prints one `open <URL>` line,
// the sample page there logs in with Instagram (the fake) through igauth, with PKCE and
// /v1/token, and ends in a Parse session, and Ctrl-C (SIGINT to its process group) stops every piece.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import path from 'node:path';
import * as h from './harness.mjs';

const done = h.timer('playground (e2e)');

test('the playground prints one open line whose page logs in to Parse, and Ctrl-C stops it all', async (t) => {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('IGAUTH_')));
  env.IGAUTH_BIN = process.env.IGAUTH_BIN ?? path.join(h.REPO, 'target/release/igauth');
  env.FAKE_IG_BIN = process.env.FAKE_IG_BIN ?? path.join(h.REPO, 'target/release/fake-instagram');
  const child = spawn('bash', [path.join(h.REPO, 'scripts/playground.sh')], {
    env,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c) => (stdout += c));
  child.stderr.on('data', (c) => (stderr += c));
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  t.after(() => {
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  });

  const open = await h.until('the open line', async () => stdout.match(/^open (\S+)\n/)?.[1], { timeoutMs: 180000 })
    .catch((e) => assert.fail(`${e.message}\n${stderr}`));
  assert.equal(stdout, `open ${open}\n`, 'stdout is that one line');
  const page = await h.call(open);
  assert.equal(page.status, 200);
  const igauth = page.text.match(/const IGAUTH = '([^']+)'/)?.[1];
  assert.ok(igauth, page.text);

  // The page runs the PKCE web recipe: a verifier kept in the tab, its S256 challenge sent to
  // /v1/authorize, the #code= traded at igauth's /v1/token (cross-origin, so CORS must admit it).
  for (const piece of ["code_challenge_method: 'S256'", "crypto.subtle.digest('SHA-256'", "IGAUTH + '/v1/token'"]) {
    assert.ok(page.text.includes(piece), `the page's script has ${piece}`);
  }
  const verifier = crypto.randomBytes(32).toString('base64url');
  const challenge = crypto.createHash('sha256').update(verifier).digest('base64url');

  // What the page's button and a browser do: authorize, the fake's consent "Allow", callback.
  const returnTo = new URL(open).href;
  const authorize = await fetch(
    `${igauth}/v1/authorize?${new URLSearchParams({ return_to: returnTo, code_challenge: challenge, code_challenge_method: 'S256' })}`,
    { redirect: 'manual' },
  );
  assert.equal(authorize.status, 302, await authorize.text());
  const cookie = authorize.headers.get('set-cookie').split(';')[0];
  const consent = await h.call(authorize.headers.get('location'));
  const allow = consent.text.match(/id="allow" type="button" data-href="([^"]+)"/)?.[1].replaceAll('&amp;', '&');
  assert.ok(allow, consent.text);
  const callback = await fetch(allow, { headers: { cookie }, redirect: 'manual' });
  assert.equal(callback.status, 302, await callback.text());
  const landing = new URL(callback.headers.get('location'));
  assert.equal(landing.origin + landing.pathname, returnTo);
  const code = new URLSearchParams(landing.hash.slice(1)).get('code');
  assert.ok(code, landing.hash);

  // The page's fetch to /v1/token, from the page's origin.
  const pageOrigin = new URL(open).origin;
  const token = await fetch(`${igauth}/v1/token`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Origin: pageOrigin },
    body: JSON.stringify({ code, code_verifier: verifier }),
  });
  const tokenText = await token.text();
  assert.equal(token.status, 200, h.redact(tokenText));
  assert.equal(token.headers.get('access-control-allow-origin'), pageOrigin, 'igauth admits the page');
  const { authData } = JSON.parse(tokenText);
  assert.ok(authData?.instagram?.access_token, 'authData from /v1/token');

  // What the page's script does next: Parse.User.logInWith("instagram", {authData}) over REST.
  const parse = `${pageOrigin}/parse`;
  const headers = { 'X-Parse-Application-Id': 'playground' };
  const login = await h.call(`${parse}/users`, {
    method: 'POST',
    headers,
    json: { authData: { instagram: authData.instagram } },
  });
  assert.ok(login.status === 201 || login.status === 200, `${login.status} ${h.redact(login.text)}`);
  const me = await h.call(`${parse}/users/me`, { headers: { ...headers, 'X-Parse-Session-Token': login.json.sessionToken } });
  assert.equal(me.status, 200, me.text);
  assert.equal(me.json.objectId, login.json.objectId);

  // Ctrl-C: the terminal sends SIGINT to the whole foreground group.
  process.kill(-child.pid, 'SIGINT');
  const exit = await exited;
  assert.ok(exit.code === 130 || exit.signal === 'SIGINT', `exit ${JSON.stringify(exit)}\n${stderr}`);
  await assert.rejects(fetch(`${igauth}/readyz`, { signal: AbortSignal.timeout(2000) }), 'igauth stopped');
  await assert.rejects(fetch(`${parse}/health`, { signal: AbortSignal.timeout(2000) }), 'Parse stopped');
  done();
});
