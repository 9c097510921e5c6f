// The benchmark's contender: what a careful Parse developer writes in Cloud Code instead of igauth.
// POST /v1/validate {id, access_token} -> ask Instagram's /me on EVERY call (no cache, no
// single-flight), compare the ids as strings, answer in igauth's shape.
//
// HTTP client (CLIENT env):
//   undici (default) - an undici Pool to the Graph origin: keep-alive, bounded connections
//                      (256, like igauth's IGAUTH_INSTAGRAM__MAX_CONNECTIONS), 5 s timeouts.
//                      This is the fast, careful choice and the one the ratios are taken against.
//   fetch            - Node's global fetch (undici underneath, also keep-alive) with a 5 s
//                      AbortSignal timeout: what most Cloud Code snippets do.
//
// usage: GRAPH_URL=http://127.0.0.1:PORT [CLIENT=undici|fetch] node server.mjs [127.0.0.1:PORT]
// Prints "listening on http://127.0.0.1:PORT" once it accepts connections. Loopback only.

import http from 'node:http';
import { Pool } from 'undici';

const GRAPH = (process.env.GRAPH_URL || '').replace(/\/+$/, '');
if (!GRAPH.startsWith('http://127.') && !GRAPH.startsWith('http://localhost')) {
  console.error('GRAPH_URL must be a loopback http URL (the fake Instagram)');
  process.exit(2);
}
const CLIENT = process.env.CLIENT || 'undici';
const [host, port] = (process.argv[2] || '127.0.0.1:0').split(':');
const MAX_BODY = 8192;
const TIMEOUT_MS = 5000;

const pool = new Pool(GRAPH, {
  connections: 256,
  pipelining: 1,
  keepAliveTimeout: 30_000,
  headersTimeout: TIMEOUT_MS,
  bodyTimeout: TIMEOUT_MS,
});

/** What /me says: {status, body} with the parsed JSON body (or null). */
async function me(token) {
  const path = `/me?fields=id,username&access_token=${encodeURIComponent(token)}`;
  if (CLIENT === 'fetch') {
    const res = await fetch(GRAPH + path, { signal: AbortSignal.timeout(TIMEOUT_MS) });
    const text = await res.text();
    return { status: res.status, body: parseJson(text) };
  }
  const res = await pool.request({ path, method: 'GET' });
  const text = await res.body.text();
  return { status: res.statusCode, body: parseJson(text) };
}

function parseJson(text) {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

function send(res, status, obj) {
  const body = JSON.stringify(obj);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
  });
  res.end(body);
}

function invalid(res, reason, message) {
  send(res, 200, { valid: false, reason, message });
}

async function validate(raw, res) {
  let input;
  try {
    input = JSON.parse(raw);
  } catch {
    return send(res, 400, { error: { code: 'invalid_request', message: 'body is not JSON' } });
  }
  const auth = input?.authData?.instagram ?? input?.authData ?? input ?? {};
  const id = typeof auth.id === 'number' ? String(auth.id) : auth.id;
  const token = auth.access_token;
  if (typeof id !== 'string' || !/^\d{1,32}$/.test(id) || typeof token !== 'string' || !token) {
    return send(res, 400, { error: { code: 'invalid_request', message: 'id and access_token are required' } });
  }
  let answer;
  try {
    answer = await me(token);
  } catch {
    return send(res, 502, { error: { code: 'upstream_error', message: 'Instagram did not answer' } });
  }
  const { status, body } = answer;
  if (status === 200 && body && typeof body.id === 'string') {
    if (body.id === id) return send(res, 200, { valid: true, id, username: body.username });
    return invalid(res, 'id_mismatch', 'This access token belongs to a different Instagram user.');
  }
  if (status === 400 && body?.error?.code === 190) {
    return body.error.error_subcode === 463
      ? invalid(res, 'expired_token', 'This access token has expired; the user must log in with Instagram again.')
      : invalid(res, 'invalid_token', 'Instagram does not accept this access token.');
  }
  return send(res, 502, { error: { code: 'upstream_error', message: `Instagram answered ${status}` } });
}

const server = http.createServer((req, res) => {
  if (req.method !== 'POST' || req.url !== '/v1/validate') {
    return send(res, 404, { error: { code: 'not_found', message: 'No such route' } });
  }
  const chunks = [];
  let size = 0;
  let refused = false;
  req.on('data', (chunk) => {
    size += chunk.length;
    if (size > MAX_BODY) {
      if (!refused) send(res, 413, { error: { code: 'payload_too_large', message: 'body too large' } });
      refused = true;
      return;
    }
    chunks.push(chunk);
  });
  req.on('end', () => {
    if (refused) return;
    validate(Buffer.concat(chunks).toString('utf8'), res).catch(() =>
      send(res, 500, { error: { code: 'internal', message: 'internal error' } }),
    );
  });
});
server.keepAliveTimeout = 65_000;
server.listen(Number(port), host, () => {
  const addr = server.address();
  console.log(`listening on http://${addr.address}:${addr.port} (client: ${CLIENT})`);
});
for (const sig of ['SIGTERM', 'SIGINT']) {
  process.on(sig, () => {
    server.close();
    pool.close().finally(() => process.exit(0));
    setTimeout(() => process.exit(0), 1000).unref();
  });
}
