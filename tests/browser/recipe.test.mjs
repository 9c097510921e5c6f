// The Web recipe of docs/recipes.md, as written, in headless Debian Chromium: the page is built at
// test time from the recipe's own code blocks (its functions and its "wiring it up" block), so a
// recipe that stops working fails here. Around them only what the recipe leaves to the reader:
// a button with the id the wiring uses, showLoggedIn/showError, and the Parse JS SDK
// initialised as usual. The page is served from its own local origin, allowed by igauth's
// IGAUTH_INSTAGRAM__RETURN_URLS and IGAUTH_SERVER__CORS_ORIGINS, so /v1/token is called
// cross-origin as on a real site. It logs in against the project's fake Instagram, igauth with
// Parse sessions and a real Parse Server 9 on PostgreSQL, and must end with a Parse session.
//
// Needs release builds, PostgreSQL and the e2e node_modules (Parse Server, whose dependency
// `parse` is the Parse JS SDK served to the page).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { chromium } from 'playwright-core';
import * as h from '../e2e/harness.mjs';

const RECIPES = path.join(h.REPO, 'docs/recipes.md');
const PARSE_SDK = path.join(h.REPO, 'tests/e2e/node_modules/parse/dist/parse.min.js');
const CHROMIUM = process.env.CHROMIUM_BIN || '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];
// The fake's consent page logs in this user (odd and above 2^53).
const USER_ID = '17841405793187219';

/** The fenced ```lang blocks of the section whose heading starts with `## heading`. */
function blocks(heading, lang) {
  const text = readFileSync(RECIPES, 'utf8');
  const at = text.indexOf(`\n## ${heading}`);
  assert.ok(at >= 0, `docs/recipes.md has no "## ${heading}" section`);
  const end = text.indexOf('\n## ', at + 1);
  const section = text.slice(at, end < 0 ? undefined : end);
  const found = [...section.matchAll(new RegExp('^```' + lang + '\\n([\\s\\S]*?)^```$', 'gm'))].map((m) => m[1]);
  assert.ok(found.length > 0, `no \`\`\`${lang} block under "## ${heading}"`);
  return found;
}

/** Replaces the recipe's placeholder `from` with `to`, failing if the recipe no longer has it. */
function replaceOnce(code, from, to) {
  assert.ok(code.includes(`'${from}'`), `the recipe no longer sets '${from}'`);
  return code.replaceAll(`'${from}'`, () => `'${to}'`);
}

let pg;
let parse;
let fake;
let igauth;
let app;
let appOrigin;
let browser;
let html;

/** The recipe's code with the reader's glue around it: the page at / and at /login/done. */
function recipePage() {
  let code = blocks('Web', 'js').join('\n');
  code = replaceOnce(code, 'https://igauth.example', igauth.url);
  code = replaceOnce(code, 'https://app.example/login/done', `${appOrigin}/login/done`);
  return `<!doctype html>
<meta charset="utf-8">
<title>Web recipe</title>
<button id="instagram">Log in with Instagram</button>
<p id="user"></p>
<p id="error"></p>
<script src="/parse.min.js"></script>
<script>
Parse.initialize(${JSON.stringify(parse.appId)});
Parse.serverURL = ${JSON.stringify(parse.url)};
function showLoggedIn(user) {
  document.getElementById('user').textContent = JSON.stringify({ objectId: user.id, sessionToken: user.getSessionToken() });
}
function showError(code, message) {
  document.getElementById('error').textContent = code + ': ' + message;
}
</script>
<script>
${code}
</script>
`;
}

before(async () => {
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing (CHROMIUM_BIN); apt-get install chromium`);
  assert.ok(existsSync(PARSE_SDK), `${PARSE_SDK} is missing: npm ci in tests/e2e`);
  // The app's own origin, known before igauth starts (igauth must allow it).
  app = http.createServer((req, res) => {
    const { pathname } = new URL(req.url, 'http://app');
    if (pathname === '/parse.min.js') {
      res.writeHead(200, { 'content-type': 'text/javascript' }).end(readFileSync(PARSE_SDK));
    } else if (pathname === '/' || pathname === '/login/done') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(html);
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise((resolve, reject) => app.once('error', reject).listen(0, '127.0.0.1', resolve));
  appOrigin = `http://127.0.0.1:${app.address().port}`;

  pg = await h.startPostgres();
  [parse, fake] = await Promise.all([h.startParse(pg, { name: 'parse-recipe' }), h.startFake()]);
  igauth = await h.startIgauth({
    fakeUrl: fake.url,
    login: true,
    parse,
    env: {
      IGAUTH_PARSE__SESSIONS: 'true',
      IGAUTH_INSTAGRAM__RETURN_URLS: `${appOrigin}/login/done`,
      IGAUTH_SERVER__CORS_ORIGINS: appOrigin,
    },
  });
  html = recipePage();
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
});

after(async () => {
  await browser?.close().catch(() => {});
  await new Promise((resolve) => (app ? app.close(resolve) : resolve()));
  await h.stopAll(igauth, fake, parse, pg);
});

/** The page's outcome once it has one: the shown user, or a failure with the shown error. */
async function outcome(page) {
  await page.waitForFunction(
    () => document.getElementById('user').textContent || document.getElementById('error').textContent,
    null,
    { timeout: 20_000 },
  );
  const error = await page.textContent('#error');
  assert.equal(error, '', `the recipe's page shows an error: ${error}`);
  return JSON.parse(await page.textContent('#user'));
}

test('the web recipe, as written, logs in with PKCE in the page and ends with a Parse session', { timeout: 60_000 }, async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  const tokenCalls = [];
  page.on('response', (res) => {
    if (res.url() === `${igauth.url}/v1/token` && res.request().method() === 'POST') {
      tokenCalls.push({ status: res.status(), allowOrigin: res.headers()['access-control-allow-origin'] });
    }
  });
  await page.goto(`${appOrigin}/`);
  await page.click('#instagram');

  await page.waitForURL((url) => url.href.startsWith(`${fake.url}/oauth/authorize`));
  await page.click('#allow');
  await page.waitForURL((url) => url.href.startsWith(`${appOrigin}/login/done`));
  const shown = await outcome(page);

  // Parse.User.become worked: the SDK's current user is the one shown, with a live session.
  assert.match(shown.sessionToken ?? '', /^r:/, 'a Parse session token');
  assert.deepEqual(
    await page.evaluate(() => ({ objectId: Parse.User.current()?.id, sessionToken: Parse.User.current()?.getSessionToken() })),
    shown,
  );
  const me = await parse.rest('GET', '/users/me', undefined, { headers: { 'X-Parse-Session-Token': shown.sessionToken } });
  assert.equal(me.status, 200, me.text);
  assert.equal(me.json.objectId, shown.objectId);
  // It is the user igauth linked to the Instagram account that logged in.
  const where = new URLSearchParams({ where: JSON.stringify({ instagramId: USER_ID }) });
  const links = await parse.rest('GET', `/classes/InstagramAccount?${where}`, undefined, { master: true });
  assert.deepEqual(links.json.results?.map((link) => link.user.objectId), [shown.objectId], links.text);

  // Cross-origin, once, and the recipe tidied up after itself.
  assert.deepEqual(tokenCalls, [{ status: 200, allowOrigin: appOrigin }]);
  assert.equal(new URL(page.url()).hash, '', 'the code left the address bar');
  assert.equal(await page.evaluate(() => sessionStorage.length), 0, 'the verifier is used once');
  await context.close();
});

test('a crafted link to the return page, with no login of this tab waiting, does nothing', { timeout: 60_000 }, async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  const igauthCalls = [];
  page.on('request', (req) => {
    if (req.url().startsWith(igauth.url)) igauthCalls.push(req.url());
  });
  await page.goto(`${appOrigin}/login/done#code=${'A'.repeat(43)}`);
  await page.waitForFunction(() => location.hash === '', null, { timeout: 20_000 });
  await page.goto('about:blank'); // a real load next, not a same-document fragment change
  await page.goto(`${appOrigin}/login/done#error=account_locked&error_description=Call+555-0100`);
  await page.waitForFunction(() => location.hash === '', null, { timeout: 20_000 });
  assert.equal(await page.textContent('#user'), '');
  assert.equal(await page.textContent('#error'), '', 'a crafted error is not shown');
  assert.deepEqual(igauthCalls, [], 'no code is sent to igauth');
  await context.close();
});
