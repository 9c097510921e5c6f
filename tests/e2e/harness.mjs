// The end-to-end harness: PostgreSQL 15, the fake Instagram, igauth and Parse Servers, each a
// child process in its own process group on a loopback port, started with readiness polling
// (never a fixed sleep) and torn down by the test files' after() hooks. A process 'exit' hook
// SIGKILLs whatever is still up, so a crashed test file leaves nothing behind either.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const REPO = path.resolve(HERE, '../..');
const PG_BIN = process.env.PG_BIN ?? '/usr/lib/postgresql/15/bin';
const FAKE_IG_BIN = process.env.FAKE_IG_BIN ?? path.join(REPO, 'target/release/fake-instagram');
const IGAUTH_BIN = process.env.IGAUTH_BIN ?? path.join(REPO, 'target/release/igauth');

// Meta's signed requests and the login flow as a client makes it, in files of their own.
export { signRequest, metaRequest, metaCallback } from './meta.mjs';
export { pkce, logIn, handoffCode, redeem } from './login.mjs';

export const CLIENT_ID = '1234567890';
export const CLIENT_SECRET = 'fake-secret';
export const REDIRECT_URI = 'https://app.example/cb';

/** Two users the fake Instagram knows; both odd and above 2^53: a double would turn either into another user. */
export const ID = '27640875392278831';
export const OTHER = '17841405793187219';
/** What an end user reads when igauth has no verdict (Parse relays it): never igauth's name or settings. */
export const UNVERIFIABLE = 'Instagram login could not be verified right now; please try again.';

export const secret = (label) => `${label}-${randomBytes(16).toString('hex')}`;

/** Tokens and codes are credentials: keep them out of anything the harness prints. */
export const redact = (text) =>
  String(text).replace(/\b(IGT|IGX|CODE|BAD)-[\w-]+/g, '$1-…').replace(/(Bearer )\S+/g, '$1…');

// ---------------------------------------------------------------- processes

const live = new Set();
const clusters = new Set();

process.on('exit', () => {
  for (const proc of live) proc.killGroup('SIGKILL');
  for (const dataDir of clusters) {
    spawnSync('runuser', ['-u', 'postgres', '--', `${PG_BIN}/pg_ctl`, '-D', dataDir, '-m', 'immediate', 'stop'], {
      stdio: 'ignore',
    });
  }
});

/** Our own environment minus anything that could configure igauth behind the tests' back. */
function baseEnv(extra) {
  const env = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!k.startsWith('IGAUTH_') && !k.startsWith('npm_')) env[k] = v;
  }
  return { ...env, ...extra };
}

/** A child process in its own group, its output kept (bounded) for failure reports. */
export class Proc {
  constructor(name, cmd, args, { env } = {}) {
    this.name = name;
    this.output = '';
    this.lineWaiters = [];
    this.child = spawn(cmd, args, { env: env ?? baseEnv(), detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    this.exit = null;
    this.exited = new Promise((resolve) => {
      this.child.on('error', (error) => {
        this.exit = { code: null, signal: null, error };
        live.delete(this);
        resolve(this.exit);
      });
      this.child.on('exit', (code, signal) => {
        this.exit = { code, signal };
        live.delete(this);
        resolve(this.exit);
      });
    });
    live.add(this);
    for (const stream of [this.child.stdout, this.child.stderr]) {
      stream.setEncoding('utf8');
      let partial = '';
      stream.on('data', (chunk) => {
        this.output = (this.output + chunk).slice(-64 * 1024);
        const lines = (partial + chunk).split('\n');
        partial = lines.pop();
        for (const line of lines) this.lineWaiters = this.lineWaiters.filter((w) => !w(line));
      });
    }
  }

  /** The first output line matching `re` (its match), or an error when the process dies first. */
  async waitForLine(re, timeoutMs = 15000) {
    let waiter;
    const line = new Promise((resolve) => {
      waiter = (l) => {
        const m = l.match(re);
        if (m) resolve(m);
        return Boolean(m);
      };
      this.lineWaiters.push(waiter);
    });
    const died = this.exited.then((e) => {
      throw new Error(`${this.name} exited (${describeExit(e)}) before printing ${re}\n${this.tail()}`);
    });
    const timer = delay(timeoutMs, null, { ref: false }).then(() => {
      throw new Error(`${this.name} printed no ${re} within ${timeoutMs} ms\n${this.tail()}`);
    });
    try {
      return await Promise.race([line, died, timer]);
    } finally {
      this.lineWaiters = this.lineWaiters.filter((w) => w !== waiter);
    }
  }

  killGroup(signal) {
    try {
      process.kill(-this.child.pid, signal);
    } catch {
      /* already gone */
    }
  }

  /** SIGTERM the group, wait for the exit (SIGKILL after `timeoutMs`); returns how it ended. */
  async stop(timeoutMs = 10000) {
    if (this.exit) return this.exit;
    this.killGroup('SIGTERM');
    const timedOut = await Promise.race([this.exited.then(() => false), delay(timeoutMs, true, { ref: false })]);
    if (timedOut) {
      this.killGroup('SIGKILL');
      await this.exited;
      return { ...this.exit, timedOut: true };
    }
    // The leader is gone; make sure nothing it started outlives it.
    this.killGroup('SIGKILL');
    return this.exit;
  }

  tail(chars = 4000) {
    return `--- last output of ${this.name} ---\n${redact(this.output.slice(-chars))}`;
  }
}

const describeExit = (e) => (e.error ? e.error.message : e.signal ? `signal ${e.signal}` : `code ${e.code}`);

/** Runs a command to completion; throws with its output when it fails. */
async function run(cmd, args, { env } = {}) {
  const proc = new Proc(path.basename(cmd), cmd, args, { env });
  const exit = await proc.exited;
  if (exit.code !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${describeExit(exit)})\n${proc.tail()}`);
  return proc.output;
}

/** A loopback port that was free a moment ago (the kernel picks it). */
export async function freePort() {
  const srv = net.createServer();
  await new Promise((resolve, reject) => srv.once('error', reject).listen(0, '127.0.0.1', resolve));
  const { port } = srv.address();
  await new Promise((resolve) => srv.close(resolve));
  return port;
}

/** Polls `probe` until it returns something truthy; throws after `timeoutMs`. */
export async function until(what, probe, { timeoutMs = 30000, intervalMs = 50, proc } = {}) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    if (proc?.exit) throw new Error(`${proc.name} exited (${describeExit(proc.exit)}) while waiting for ${what}\n${proc.tail()}`);
    try {
      const value = await probe();
      if (value) return value;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${last.message}` : ''}${proc ? `\n${proc.tail()}` : ''}`);
    }
    await delay(intervalMs);
  }
}

/** Stops everything given (null entries skipped), in order, and reports every failure at once. */
export async function stopAll(...things) {
  const errors = [];
  for (const thing of things) {
    if (!thing) continue;
    try {
      await thing.stop();
    } catch (e) {
      errors.push(e);
    }
  }
  if (errors.length) throw new AggregateError(errors, errors.map((e) => e.message).join('\n'));
}

// ---------------------------------------------------------------- HTTP

/** fetch with a deadline; returns { status, headers, text, json }. */
export async function call(url, { method = 'GET', headers = {}, body, form, json, timeoutMs = 15000 } = {}) {
  const h = { ...headers };
  let payload = body;
  if (json !== undefined) {
    h['content-type'] = 'application/json';
    payload = JSON.stringify(json);
  } else if (form !== undefined) {
    h['content-type'] = 'application/x-www-form-urlencoded';
    payload = new URLSearchParams(form).toString();
  }
  const res = await fetch(url, { method, headers: h, body: payload, signal: AbortSignal.timeout(timeoutMs) });
  const text = await res.text();
  let parsed;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  return { status: res.status, headers: res.headers, text, json: parsed };
}

// ---------------------------------------------------------------- PostgreSQL

/** A fresh PostgreSQL 15 cluster in a temp dir, run as `postgres` on a loopback port. */
export async function startPostgres() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'igauth-e2e-pg-'));
  const data = path.join(dir, 'data');
  const { uid, gid } = postgresIds();
  fs.chownSync(dir, uid, gid);
  const port = await freePort();
  const asPostgres = (bin, args) => run('runuser', ['-u', 'postgres', '--', `${PG_BIN}/${bin}`, ...args]);
  await asPostgres('initdb', ['-D', data, '-A', 'trust', '-U', 'postgres', '-E', 'UTF8', '--locale=C', '--no-sync']);
  clusters.add(data);
  // -w: pg_ctl itself polls until the server accepts connections.
  await asPostgres('pg_ctl', [
    '-D', data, '-w', '-t', '60', '-l', path.join(dir, 'postgres.log'),
    '-o', `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off`,
    'start',
  ]);
  let databases = 0;
  return {
    port,
    /** A new, empty database; its URI for Parse. */
    async createDatabase(prefix = 'parse') {
      const name = `${prefix}_${++databases}`;
      await run(`${PG_BIN}/createdb`, ['-h', '127.0.0.1', '-p', String(port), '-U', 'postgres', name]);
      return `postgres://postgres@127.0.0.1:${port}/${name}`;
    },
    async stop() {
      try {
        await asPostgres('pg_ctl', ['-D', data, '-m', 'fast', '-w', 'stop']);
        clusters.delete(data);
      } finally {
        if (!clusters.has(data)) fs.rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}

function postgresIds() {
  const line = fs.readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.startsWith('postgres:'));
  if (!line) throw new Error('no postgres user on this machine (install postgresql-15)');
  const [, , uid, gid] = line.split(':');
  return { uid: Number(uid), gid: Number(gid) };
}

// ---------------------------------------------------------------- fake Instagram

export async function startFake() {
  if (!fs.existsSync(FAKE_IG_BIN)) throw new Error(`${FAKE_IG_BIN} missing: cargo build --release -p fake-instagram`);
  const proc = new Proc('fake-instagram', FAKE_IG_BIN, ['--bind', '127.0.0.1:0', '--workers', '2']);
  const [, url] = await proc.waitForLine(/^listening on (http:\/\/127\.0\.0\.1:\d+)$/);
  const admin = async (method, p) => {
    const res = await call(`${url}${p}`, { method });
    if (res.status !== 200) throw new Error(`fake-instagram ${p}: ${res.status} ${res.text}`);
    return res.json;
  };
  return {
    url,
    proc,
    mode: (mode) => admin('POST', `/__admin/mode?me=${encodeURIComponent(mode)}`),
    stats: () => admin('GET', '/__admin/stats'),
    reset: () => admin('POST', '/__admin/reset'),
    stop: () => proc.stop(),
  };
}

// ---------------------------------------------------------------- igauth

/** Where logins started by `logIn` come back to (an app's own URL scheme). */
export const APP_RETURN = 'myapp://auth';

/**
 * igauth's release build, configured only through IGAUTH_* variables. `login: true` turns on
 * the login flow (callback on igauth's own port, the fake's consent page, `APP_RETURN` allowed,
 * no rate limit); `parse` (a `startParse` result) gives igauth that Parse's REST API.
 */
export async function startIgauth({ fakeUrl, apiKey, webhookKey, login = false, parse, env = {} }) {
  if (!fs.existsSync(IGAUTH_BIN)) throw new Error(`${IGAUTH_BIN} missing: cargo build --release`);
  const port = await freePort();
  const loginEnv = login
    ? {
        IGAUTH_INSTAGRAM__CALLBACK_URL: `http://127.0.0.1:${port}/v1/callback`,
        IGAUTH_INSTAGRAM__AUTHORIZE_URL: `${fakeUrl}/oauth/authorize`,
        IGAUTH_INSTAGRAM__RETURN_URLS: APP_RETURN,
        IGAUTH_SERVER__STATE_SECRET: secret('state-secret'),
        IGAUTH_LIMITS__EXCHANGE_PER_MINUTE: '0',
      }
    : {};
  const parseEnv = parse
    ? { IGAUTH_PARSE__SERVER_URL: parse.url, IGAUTH_PARSE__APP_ID: parse.appId, IGAUTH_PARSE__MASTER_KEY: parse.masterKey }
    : {};
  const proc = new Proc('igauth', IGAUTH_BIN, [], {
    env: baseEnv({
      RUST_LOG: 'warn',
      IGAUTH_SERVER__BIND: `127.0.0.1:${port}`,
      IGAUTH_INSTAGRAM__API_URL: fakeUrl,
      IGAUTH_INSTAGRAM__GRAPH_URL: fakeUrl,
      IGAUTH_INSTAGRAM__CLIENT_ID: CLIENT_ID,
      IGAUTH_INSTAGRAM__CLIENT_SECRET: CLIENT_SECRET,
      IGAUTH_INSTAGRAM__REDIRECT_URIS: REDIRECT_URI,
      ...(apiKey ? { IGAUTH_SERVER__API_KEY: apiKey } : {}),
      ...(webhookKey ? { IGAUTH_PARSE__WEBHOOK_KEY: webhookKey } : {}),
      // Cache off, so the fault tests see Instagram's state on every call.
      IGAUTH_CACHE__TTL_SECS: '0',
      ...loginEnv,
      ...parseEnv,
      ...env,
    }),
  });
  const url = `http://127.0.0.1:${port}`;
  await until('igauth /readyz', async () => (await call(`${url}/readyz`, { timeoutMs: 2000 })).status === 200, { proc });
  return {
    url,
    proc,
    /** SIGTERM; igauth must drain and exit 0. */
    async stop() {
      const exit = await proc.stop();
      if (exit.code !== 0) throw new Error(`igauth did not exit cleanly on SIGTERM (${describeExit(exit)}${exit.timedOut ? ', timed out' : ''})\n${proc.tail()}`);
      return exit;
    },
  };
}

// ---------------------------------------------------------------- Parse Server

const PARSE_APP = path.join(HERE, 'parse-app.mjs');

/**
 * A Parse Server 9 in a child node process on a fresh database. `options` are ParseServer
 * options (auth, webhookKey, cloud, ...); `env` reaches Cloud Code through process.env.
 */
export async function startParse(pg, { name = 'parse', options = {}, env = {} } = {}) {
  const port = await freePort();
  const appId = `app-${name}`;
  const masterKey = secret('master');
  const databaseURI = await pg.createDatabase(name.replace(/\W/g, '_'));
  const proc = new Proc(name, process.execPath, [PARSE_APP], {
    env: baseEnv({
      ...env,
      PARSE_APP_PORT: String(port),
      PARSE_APP_CONFIG: JSON.stringify({ appId, masterKey, databaseURI, ...options }),
    }),
  });
  const url = `http://127.0.0.1:${port}/parse`;
  await until(`${name} /parse/health`, async () => (await call(`${url}/health`, { timeoutMs: 2000 })).json?.status === 'ok', {
    proc,
    timeoutMs: 60000,
  });
  /** A Parse REST call; `master` adds the master key. */
  const rest = (method, p, json, { master = false, headers = {} } = {}) =>
    call(`${url}${p}`, {
      method,
      json,
      headers: { 'X-Parse-Application-Id': appId, ...(master ? { 'X-Parse-Master-Key': masterKey } : {}), ...headers },
    });
  return {
    url,
    proc,
    rest,
    appId,
    masterKey,
    /** Sign up or log in with authData, as `Parse.User.logInWith` does. */
    logInWith: (authData, fields = {}) => rest('POST', '/users', { ...fields, authData }),
    async stop() {
      const exit = await proc.stop();
      if (exit.code !== 0 && exit.signal !== 'SIGTERM') throw new Error(`${name} exited badly (${describeExit(exit)})\n${proc.tail()}`);
    },
  };
}

// ---------------------------------------------------------------- permissive introspection stub

/**
 * A deliberately weak token-introspection endpoint, standing in for a host whose own Instagram
 * check is weak: every token is active, and `sub` is the digits after `-as-` if present, else
 * the first run of digits. So `BAD-7` passes as user 7 (Instagram rejects it), and
 * `IGT-7-as-8` passes as user 8 (Instagram says it is user 7's).
 */
export async function startPermissiveStub() {
  let calls = 0;
  const server = http.createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      calls += 1;
      const token = new URLSearchParams(body).get('token') ?? '';
      const sub = (token.match(/-as-(\d+)/) ?? token.match(/(\d+)/) ?? [])[1];
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(sub ? { active: true, sub } : { active: false }));
    });
  });
  await new Promise((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${server.address().port}/introspect`;
  return {
    url,
    calls: () => calls,
    stop: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Parse's auth config pointing its OAuth2 introspection adapter at `url`. */
export const oauth2Auth = (url, authorizationHeader) => ({
  instagram: {
    oauth2: true,
    tokenIntrospectionEndpointUrl: url,
    useridField: 'sub',
    ...(authorizationHeader ? { authorizationHeader } : {}),
  },
});

/**
 * Logs in to `parse` as Instagram user `id` while the fake Instagram answers 500, and makes the
 * fake healthy again; returns Parse's answer and the token that was sent.
 */
export async function logInWhileInstagramDown(fake, parse, id) {
  const token = `IGT-${id}-down`;
  await fake.mode('500');
  try {
    return { res: await parse.logInWith({ instagram: { id, access_token: token } }), token };
  } finally {
    await fake.mode('ok');
  }
}

/** Prints a phase's wall time (the suite reports how long it takes). */
export function timer(label) {
  const started = process.hrtime.bigint();
  return () => {
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    console.log(`# ${label}: ${(ms / 1000).toFixed(1)} s`);
    return ms;
  };
}

/**
 * Awaits several start-ups at once. If any fails, the ones that did start are stopped before
 * the error is thrown, so a half-started environment leaves nothing behind.
 */
export async function startedTogether(...starts) {
  const results = await Promise.allSettled(starts);
  const failed = results.find((r) => r.status === 'rejected');
  if (failed) {
    await stopAll(...results.filter((r) => r.status === 'fulfilled').map((r) => r.value)).catch(() => {});
    throw failed.reason;
  }
  return results.map((r) => r.value);
}
