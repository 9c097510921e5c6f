// The soak driver (issue 5): mixed traffic against igauth's POST /v1/validate while the fake
// Instagram's /me mode toggles between ok and a fault every MODE_SECS. Loopback only; bounded in
// time (SOAK_SECS + 60 s at most) and in count (SOAK_MAX_REQUESTS).
//
//   IGAUTH_URL=http://127.0.0.1:P FAKE_URL=http://127.0.0.1:Q IGAUTH_PID=N node soak.mjs
//
// Counts (the first two must be 0):
//   false accepts  - valid:true for a token of another user, an invalid/expired token, a malformed
//                    or oversized body, or a valid:true naming an id other than the claimed one
//   fault accepts  - valid:true for a token never validated before, sent AND answered while /me
//                    was in a fault mode (so no real verdict can exist)
// and 5xx by code, statuses by kind of request, transport errors, slow answers, igauth's RSS
// every 10 s. Prints a JSON summary on stdout.
import http from 'node:http';
import { readFileSync } from 'node:fs';

const IGAUTH = new URL(process.env.IGAUTH_URL);
const FAKE = new URL(process.env.FAKE_URL);
for (const u of [IGAUTH, FAKE]) {
  if (!['127.0.0.1', 'localhost'].includes(u.hostname)) throw new Error('soak.mjs only talks to loopback');
}
const SECS = Number(process.env.SOAK_SECS || 300);
const MODE_SECS = Number(process.env.MODE_SECS || 10);
const CONCURRENCY = Number(process.env.SOAK_CONCURRENCY || 32);
const MAX_REQUESTS = Number(process.env.SOAK_MAX_REQUESTS || 30_000_000);
const PID = Number(process.env.IGAUTH_PID);
const SLOW_MS = Number(process.env.SLOW_MS || 1000);
const FAULTS = ['500', 'html', 'truncated', 'slow', 'ratelimit', 'hang', 'down'];
const ID = '17841405793187219';
const OTHER = '17841405793187218';

const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });
const adminAgent = new http.Agent({ keepAlive: false });

function send({ url, method = 'POST', path, body, headers = {}, chunked = false, agent: a = agent }) {
  return new Promise((resolve) => {
    const started = performance.now();
    const h = { ...headers };
    if (body !== undefined && !chunked) h['content-length'] = Buffer.byteLength(body);
    const req = http.request(
      { host: url.hostname, port: url.port, method, path, agent: a, headers: h, timeout: 30_000 },
      (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode, text: Buffer.concat(chunks).toString(), ms: performance.now() - started }),
        );
        res.on('error', (e) => resolve({ status: 0, error: e.code || e.message, ms: performance.now() - started }));
      },
    );
    req.on('timeout', () => req.destroy(new Error('client timeout')));
    req.on('error', (e) => resolve({ status: 0, error: e.code || e.message, ms: performance.now() - started }));
    if (body === undefined) req.end();
    else if (chunked) {
      // No content-length: the body arrives chunked, in pieces.
      const step = 4096;
      for (let i = 0; i < body.length; i += step) req.write(body.slice(i, i + step));
      req.end();
    } else req.end(body);
  });
}

// ------------------------------------------------------------------ the fault toggler
let mode = 'ok'; // what /me does now; 'switching' while a change is under way
let epoch = 0;
const modeLog = [];
async function setMode(next) {
  mode = 'switching';
  epoch++;
  const r = await send({ url: FAKE, path: `/__admin/mode?me=${next}`, agent: adminAgent });
  if (r.status !== 200) throw new Error(`fake refused mode ${next}: ${r.status} ${r.text}`);
  mode = next;
  epoch++;
  modeLog.push({ t: Math.round((Date.now() - T0) / 1000), mode: next });
}

// ------------------------------------------------------------------ request kinds
let serial = 0;
const validated = []; // tokens igauth has answered valid:true for (for the "repeat" kind)
const json = (o) => JSON.stringify(o);
const JSON_H = { 'content-type': 'application/json' };

const MALFORMED = [
  () => ({ body: 'not json at all', headers: JSON_H }),
  () => ({ body: '', headers: JSON_H }),
  () => ({ body: '[1,2,3]', headers: JSON_H }),
  () => ({ body: '{"id":"' + ID + '"', headers: JSON_H }),
  () => ({ body: json({ id: ID }), headers: JSON_H }),
  () => ({ body: json({ access_token: `IGT-${ID}-x` }), headers: JSON_H }),
  () => ({ body: json({ id: 'abc', access_token: `IGT-${ID}-x` }), headers: JSON_H }),
  () => ({ body: '{"id":1.5,"access_token":"IGT-1-x"}', headers: JSON_H }),
  () => ({ body: json({ id: ID, access_token: 17 }), headers: JSON_H }),
  () => ({ body: json({ id: ID, access_token: '' }), headers: JSON_H }),
  () => ({ body: json({ id: ID, access_token: `IGT-${ID} x` }), headers: JSON_H }),
  () => ({ body: json({ id: ID, access_token: `IGT-${ID}\u0000x` }), headers: JSON_H }),
  () => ({ body: json({ id: ID, access_token: `IGT-${ID}-\u00e9\u{1F600}` }), headers: JSON_H }),
  () => ({ body: json({ id: ID, access_token: `IGT-${ID}-` + 'a'.repeat(5000) }), headers: JSON_H }),
  () => ({ body: json({ id: `${ID}\n`, access_token: `IGT-${ID}-nl` }), headers: JSON_H }),
  () => ({ body: json({ id: ID, access_token: `IGT-${ID}-ct-${serial++}` }), headers: { 'content-type': 'text/plain' } }),
  () => ({ body: `id=${ID}&access_token=IGT-${ID}-form`, headers: { 'content-type': 'application/x-www-form-urlencoded' } }),
  () => ({ body: '['.repeat(2000) + ']'.repeat(2000), headers: JSON_H }),
  () => ({ body: '{"id":"' + ID + '","access_token":"IGT-' + ID + '-dup","access_token":"BAD"}', headers: JSON_H }),
  () => ({ body: Buffer.from([0xff, 0xfe, 0x7b, 0x7d]), headers: JSON_H }), // not UTF-8
];
const WRONG = [
  () => json({ id: ID, access_token: `IGT-${OTHER}-w${serial++}` }),
  () => json({ id: ID, access_token: `IGT-${ID}0-w${serial++}` }), // owner 178...190: claimed is a prefix
  () => json({ id: ID, access_token: `IGT-${ID.slice(0, -1)}-w${serial++}` }), // claimed is longer
  () => json({ id: `0${ID}`, access_token: `IGT-${ID}-w${serial++}` }), // leading zero
  () => json({ authData: { instagram: { id: OTHER, access_token: `IGT-${ID}-w${serial++}` } } }),
  () => `{"id":${OTHER},"access_token":"IGT-${ID}-w${serial++}"}`, // numeric id, other user
];
const INVALID = [
  () => json({ id: ID, access_token: `BAD-${ID}-${serial++}` }),
  () => json({ id: ID, access_token: `IGX-${ID}-${serial++}` }), // expired
  () => json({ id: ID, access_token: `IGT-${ID}x${serial++}` }),
  () => json({ id: ID, access_token: `igt-${ID}-${serial++}` }),
  () => json({ id: ID, access_token: `IGT--${serial++}` }),
];
const pick = (a) => a[Math.floor(Math.random() * a.length)];

function nextRequest() {
  const r = Math.random() * 100;
  if (r < 30) {
    const token = `IGT-${ID}-soak-${serial++}`;
    return { kind: 'right_fresh', token, body: json({ id: ID, access_token: token }), headers: JSON_H };
  }
  if (r < 45 && validated.length) {
    const token = pick(validated);
    return { kind: 'right_repeat', token, body: json({ id: ID, access_token: token }), headers: JSON_H };
  }
  if (r < 60) return { kind: 'wrong_id', body: pick(WRONG)(), headers: JSON_H, mustReject: true };
  if (r < 75) return { kind: 'invalid_token', body: pick(INVALID)(), headers: JSON_H, mustReject: true };
  if (r < 90) return { kind: 'malformed', ...pick(MALFORMED)(), mustReject: true };
  const pad = 'x'.repeat(9000 + Math.floor(Math.random() * 60000));
  return {
    kind: 'oversized',
    body: json({ id: ID, access_token: `IGT-${ID}-big-${serial++}`, pad }),
    headers: JSON_H,
    chunked: Math.random() < 0.5,
    mustReject: true,
  };
}

// ------------------------------------------------------------------ tallies
const byKind = {}; // kind -> status -> count
const fiveXX = {}; // "status code" -> count
const falseAccepts = [];
const faultAccepts = [];
const transport = {};
let slow = 0;
let maxMs = 0;
let total = 0;
let freshValidInOk = 0;
let freshRejectedInOk = 0;
const rss = [];

function tally(req, res, sentMode, sentEpoch) {
  total++;
  const k = (byKind[req.kind] ??= {});
  const s = res.status || `transport:${res.error}`;
  k[s] = (k[s] || 0) + 1;
  if (!res.status) transport[res.error] = (transport[res.error] || 0) + 1;
  if (res.ms > maxMs) maxMs = res.ms;
  if (res.ms > SLOW_MS) slow++;
  let body = null;
  try {
    body = JSON.parse(res.text);
  } catch {}
  if (res.status >= 500) {
    const key = `${res.status} ${body?.error?.code ?? '(no envelope)'}`;
    fiveXX[key] = (fiveXX[key] || 0) + 1;
  }
  const accepted = body?.valid === true;
  if (!accepted) {
    if (req.kind === 'right_fresh' && sentMode === 'ok' && mode === 'ok' && epoch === sentEpoch && res.status === 200)
      freshRejectedInOk++;
    return;
  }
  if (req.mustReject || (body.id !== undefined && body.id !== ID)) {
    falseAccepts.push({ kind: req.kind, status: res.status, answer: res.text.slice(0, 200) });
    return;
  }
  if (req.kind === 'right_fresh') {
    const inFault = sentMode !== 'ok' && sentMode !== 'switching' && mode === sentMode && epoch === sentEpoch;
    if (inFault) faultAccepts.push({ mode: sentMode, status: res.status });
    else if (sentMode === 'ok') freshValidInOk++;
    if (validated.length < 5000) validated.push(req.token);
    else validated[Math.floor(Math.random() * validated.length)] = req.token;
  }
}

function sampleRss() {
  try {
    const status = readFileSync(`/proc/${PID}/status`, 'utf8');
    const kib = (k) => Number(status.match(new RegExp(`${k}:\\s+(\\d+)`))[1]);
    rss.push({ t: Math.round((Date.now() - T0) / 1000), rss_mib: +(kib('VmRSS') / 1024).toFixed(1), hwm_mib: +(kib('VmHWM') / 1024).toFixed(1) });
  } catch {
    rss.push({ t: Math.round((Date.now() - T0) / 1000), rss_mib: null, dead: true });
  }
}

// ------------------------------------------------------------------ run
const T0 = Date.now();
const END = T0 + SECS * 1000;
let stopping = false;

async function worker() {
  while (!stopping && Date.now() < END && total < MAX_REQUESTS) {
    const req = nextRequest();
    const sentMode = mode;
    const sentEpoch = epoch;
    const res = await send({ url: IGAUTH, path: '/v1/validate', body: req.body, headers: req.headers, chunked: req.chunked });
    tally(req, res, sentMode, sentEpoch);
    if (res.status === 0) await new Promise((r) => setTimeout(r, 50));
  }
}

async function toggler() {
  const cycle = FAULTS.flatMap((f) => ['ok', f]);
  let i = 0;
  while (!stopping && Date.now() < END) {
    const next = cycle[i++ % cycle.length];
    if (next !== mode) await setMode(next);
    await new Promise((r) => setTimeout(r, Math.min(MODE_SECS * 1000, Math.max(0, END - Date.now()))));
  }
}

const hardStop = setTimeout(() => {
  stopping = true;
}, (SECS + 60) * 1000);
sampleRss();
const rssTimer = setInterval(sampleRss, 10_000);
await Promise.all([toggler(), ...Array.from({ length: CONCURRENCY }, worker)]);
clearInterval(rssTimer);
clearTimeout(hardStop);
sampleRss();

// After the faults: /me healthy again; a fresh token must validate once the breaker lets a probe
// through (cool-down 10 s by default).
await setMode('ok');
let recoveredAfter = null;
const recoverStart = Date.now();
while (Date.now() - recoverStart < 30_000) {
  const token = `IGT-${ID}-recover-${serial++}`;
  const r = await send({ url: IGAUTH, path: '/v1/validate', body: json({ id: ID, access_token: token }), headers: JSON_H });
  if (r.status === 200 && JSON.parse(r.text).valid === true) {
    recoveredAfter = +((Date.now() - recoverStart) / 1000).toFixed(1);
    break;
  }
  await new Promise((r) => setTimeout(r, 500));
}
agent.destroy();

const live = rss.filter((s) => s.rss_mib !== null);
const afterWarm = live.filter((s) => s.t >= 30);
const span = (xs) => (xs.length ? +(Math.max(...xs) - Math.min(...xs)).toFixed(1) : null);
console.log(
  JSON.stringify(
    {
      secs: +((Date.now() - T0) / 1000).toFixed(0),
      requests: total,
      stopped_by: total >= MAX_REQUESTS ? `count cap (${MAX_REQUESTS})` : 'time',
      false_accepts: falseAccepts.length,
      false_accept_examples: falseAccepts.slice(0, 5),
      fault_accepts: faultAccepts.length,
      fault_accept_examples: faultAccepts.slice(0, 5),
      fresh_valid_in_ok: freshValidInOk,
      fresh_rejected_in_ok: freshRejectedInOk,
      five_xx: fiveXX,
      by_kind: byKind,
      transport_errors: transport,
      slow_answers: slow,
      slow_threshold_ms: SLOW_MS,
      max_ms: +maxMs.toFixed(1),
      recovered_after_secs: recoveredAfter,
      rss_samples: rss,
      rss_span_after_30s_mib: span(afterWarm.map((s) => s.rss_mib)),
      rss_first_mib: live[0]?.rss_mib,
      rss_last_mib: live.at(-1)?.rss_mib,
      died: rss.some((s) => s.dead),
      modes: modeLog,
    },
    null,
    1,
  ),
);
