// Small load drivers for what wrk cannot do. Loopback only; bounded in count and time.
//
//   node drive.mjs burst URL N TOKEN
//       Opens N connections, then fires N identical POST /v1/validate at once (one per
//       connection) for TOKEN and the id it belongs to. Prints JSON: statuses, how many were
//       answered valid:true, and the spread between the first and last answer.
//   node drive.mjs fill URL COUNT CONCURRENCY PREFIX
//       Validates COUNT distinct valid tokens IGT-17841405793187219-PREFIX-<i> over CONCURRENCY
//       keep-alive connections (every one a cache miss, so every one ends up cached). Prints JSON.
//   node drive.mjs login URL N [PREFIX] [RETURN_TO]
//       A long-lived login, one at a time over one keep-alive connection, two ways:
//       (1) N x POST /v1/exchange {"code":"CODE-17841405793187219-PREFIX-x<i>","long_lived":true},
//           a success being 200 with expires_in in the answer;
//       (2) N x the browser flow: GET /v1/authorize?return_to=RETURN_TO with a PKCE challenge
//           (not timed; the state from Location, the binding cookie from Set-Cookie), then GET
//           /v1/callback?code=CODE-17841405793187219-PREFIX-c<i>&state=.. with that cookie, timed;
//           a success being a 302 to RETURN_TO#code=.. whose code then (untimed) redeems at
//           /v1/token, with the verifier, for a long-lived token (expires_in in the answer).
//       Two untimed logins of each kind go first (connections, first-use costs). RETURN_TO must be
//       in igauth's IGAUTH_INSTAGRAM__RETURN_URLS (default URL/bench/done). Prints JSON: per kind,
//       sent, ok, and the median, p90 and max latency in ms of the successful ones; warmup, the
//       untimed logins of each kind.

import http from 'node:http';
import { createHash, randomBytes } from 'node:crypto';

const ID = '17841405793187219';
const [mode, url, ...rest] = process.argv.slice(2);
const target = new URL(url || '');
if (!['127.0.0.1', 'localhost'].includes(target.hostname)) {
  console.error('drive.mjs only talks to loopback');
  process.exit(2);
}
const DEADLINE = Date.now() + 120_000; // never run longer than two minutes

function body(token) {
  return JSON.stringify({ id: ID, access_token: token });
}

// node:http with a keep-alive agent: no dependencies, so the drivers run before `npm ci`.
function agentFor(connections) {
  return new http.Agent({ keepAlive: true, maxSockets: connections });
}

function send(agent, method, path, payload, extraHeaders = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: target.hostname,
        port: target.port,
        method,
        path,
        agent,
        timeout: 30_000,
        headers: {
          ...(payload ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } : {}),
          ...extraHeaders,
        },
      },
      (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode, headers: res.headers, text: Buffer.concat(chunks).toString() }),
        );
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end(payload);
  });
}

async function validate(agent, token) {
  const { status, text } = await send(agent, 'POST', '/v1/validate', body(token));
  let valid = false;
  try {
    valid = JSON.parse(text).valid === true;
  } catch {}
  return { status, valid };
}

async function burst(n, token) {
  const pool = agentFor(n);
  // Warm n connections with a cheap request so the burst itself does not wait on TCP handshakes.
  await Promise.all(Array.from({ length: n }, () => send(pool, 'GET', '/healthz')));
  const started = performance.now();
  const answers = await Promise.all(
    Array.from({ length: n }, () =>
      validate(pool, token).then((a) => ({ ...a, ms: performance.now() - started })),
    ),
  );
  pool.destroy();
  const statuses = {};
  for (const a of answers) statuses[a.status] = (statuses[a.status] || 0) + 1;
  const times = answers.map((a) => a.ms).sort((x, y) => x - y);
  return {
    sent: n,
    valid: answers.filter((a) => a.valid).length,
    statuses,
    first_ms: +times[0].toFixed(2),
    last_ms: +times[times.length - 1].toFixed(2),
  };
}

async function fill(count, concurrency, prefix) {
  const pool = agentFor(concurrency);
  let next = 0;
  let valid = 0;
  let other = 0;
  const started = performance.now();
  async function worker() {
    while (next < count && Date.now() < DEADLINE) {
      const i = next++;
      const a = await validate(pool, `IGT-${ID}-${prefix}-${i}`);
      if (a.status === 200 && a.valid) valid++;
      else other++;
    }
  }
  await Promise.all(Array.from({ length: concurrency }, worker));
  pool.destroy();
  const secs = (performance.now() - started) / 1000;
  return { sent: valid + other, valid, other, secs: +secs.toFixed(2), rps: Math.round((valid + other) / secs) };
}

// Nearest-rank percentile of ascending times.
function percentile(sorted, q) {
  return sorted.length ? +sorted[Math.max(0, Math.ceil(q * sorted.length) - 1)].toFixed(2) : null;
}

function summary(sent, times) {
  const sorted = [...times].sort((x, y) => x - y);
  return {
    sent,
    ok: sorted.length,
    median_ms: percentile(sorted, 0.5),
    p90_ms: percentile(sorted, 0.9),
    max_ms: sorted.length ? +sorted.at(-1).toFixed(2) : null,
  };
}

// One POST /v1/exchange for a long-lived token: its latency in ms if it succeeded, else null.
async function exchangeOnce(agent, code) {
  const started = performance.now();
  const { status, text } = await send(agent, 'POST', '/v1/exchange', JSON.stringify({ code, long_lived: true }));
  const ms = performance.now() - started;
  let expires = false;
  try {
    expires = typeof JSON.parse(text).expires_in === 'number';
  } catch {}
  return status === 200 && expires ? ms : null;
}

// /v1/authorize (untimed), then the callback with the state and cookie it handed out: the
// callback's latency in ms if it ended at returnTo with a code that /v1/token (untimed) trades,
// with the PKCE verifier, for a long-lived token; else null.
async function callbackOnce(agent, code, returnTo) {
  const verifier = randomBytes(32).toString('base64url');
  const challenge = createHash('sha256').update(verifier).digest('base64url');
  const pkce = `code_challenge=${challenge}&code_challenge_method=S256`;
  const auth = await send(agent, 'GET', `/v1/authorize?return_to=${encodeURIComponent(returnTo)}&${pkce}`);
  if (auth.status !== 302 || !auth.headers.location) return null;
  const state = new URL(auth.headers.location).searchParams.get('state');
  const cookie = (auth.headers['set-cookie'] || [])
    .map((c) => c.split(';')[0].trim())
    .filter((c) => /=./.test(c))
    .join('; ');
  if (!state || !cookie) return null;
  const path = `/v1/callback?code=${encodeURIComponent(code)}&state=${encodeURIComponent(state)}`;
  const started = performance.now();
  const cb = await send(agent, 'GET', path, undefined, { cookie });
  const ms = performance.now() - started;
  const location = cb.headers.location || '';
  if (cb.status !== 302 || !location.startsWith(`${returnTo}#code=`)) return null;
  const handoff = new URLSearchParams(location.slice(returnTo.length + 1)).get('code');
  const token = await send(agent, 'POST', '/v1/token', JSON.stringify({ code: handoff, code_verifier: verifier }));
  let expires = false;
  try {
    expires = typeof JSON.parse(token.text).expires_in === 'number';
  } catch {}
  return token.status === 200 && expires ? ms : null;
}

const LOGIN_WARMUP = 2;

async function login(n, prefix, returnTo) {
  const agent = agentFor(1);
  const code = (kind, i) => `CODE-${ID}-${prefix}-${kind}${i}`;
  for (let i = 0; i < LOGIN_WARMUP; i++) {
    await exchangeOnce(agent, code('wx', i));
    await callbackOnce(agent, code('wc', i), returnTo);
  }
  const exchange = [];
  let sent = 0;
  for (let i = 0; i < n && Date.now() < DEADLINE; i++, sent++) {
    const ms = await exchangeOnce(agent, code('x', i));
    if (ms !== null) exchange.push(ms);
  }
  const callback = [];
  let sentCb = 0;
  for (let i = 0; i < n && Date.now() < DEADLINE; i++, sentCb++) {
    const ms = await callbackOnce(agent, code('c', i), returnTo);
    if (ms !== null) callback.push(ms);
  }
  agent.destroy();
  return { warmup: LOGIN_WARMUP, exchange: summary(sent, exchange), callback: summary(sentCb, callback) };
}

let result;
if (mode === 'burst') {
  result = await burst(Number(rest[0] || 64), rest[1] || `IGT-${ID}-burst-${Date.now()}`);
} else if (mode === 'fill') {
  result = await fill(Number(rest[0] || 100000), Number(rest[1] || 64), rest[2] || `fill${Date.now()}`);
} else if (mode === 'login') {
  result = await login(Number(rest[0] || 50), rest[1] || `login${Date.now()}`, rest[2] || `${target.origin}/bench/done`);
} else {
  console.error(
    'usage: node drive.mjs burst URL N [TOKEN] | fill URL COUNT CONCURRENCY PREFIX | login URL N [PREFIX] [RETURN_TO]',
  );
  process.exit(2);
}
console.log(JSON.stringify(result));
