// Small load drivers for what wrk cannot do. Loopback only; bounded in count and time.
//
//   node drive.mjs burst URL N TOKEN
//       Opens N connections, then fires N identical POST /v1/validate at once (one per
//       connection) for TOKEN and the id it belongs to. Prints JSON: statuses, how many were
//       answered valid:true, and the spread between the first and last answer.
//   node drive.mjs fill URL COUNT CONCURRENCY PREFIX
//       Validates COUNT distinct valid tokens IGT-17841405793187219-PREFIX-<i> over CONCURRENCY
//       keep-alive connections (every one a cache miss, so every one ends up cached). Prints JSON.

import http from 'node:http';

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

function send(agent, method, path, payload) {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: target.hostname,
        port: target.port,
        method,
        path,
        agent,
        timeout: 30_000,
        headers: payload ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } : {},
      },
      (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode, text: Buffer.concat(chunks).toString() }));
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

let result;
if (mode === 'burst') {
  result = await burst(Number(rest[0] || 64), rest[1] || `IGT-${ID}-burst-${Date.now()}`);
} else if (mode === 'fill') {
  result = await fill(Number(rest[0] || 100000), Number(rest[1] || 64), rest[2] || `fill${Date.now()}`);
} else {
  console.error('usage: node drive.mjs burst URL N [TOKEN] | fill URL COUNT CONCURRENCY PREFIX');
  process.exit(2);
}
console.log(JSON.stringify(result));
