// Meta's signed requests, as Meta signs and posts them to igauth's compliance callbacks.
import { createHmac } from 'node:crypto';

import { call, CLIENT_SECRET } from './harness.mjs';

/** `base64url(HMAC-SHA256(secret, payload_b64)).payload_b64`, as Meta signs its callbacks. */
export function signRequest(payload, secret = CLIENT_SECRET) {
  const encoded = Buffer.from(JSON.stringify(payload)).toString('base64url');
  const sig = createHmac('sha256', secret).update(encoded).digest('base64url');
  return `${sig}.${encoded}`;
}

/** A signed request for `userId` issued now (as Meta sends them; igauth refuses stale ones). */
export const metaRequest = (userId, extra = {}) =>
  signRequest({ algorithm: 'HMAC-SHA256', issued_at: Math.floor(Date.now() / 1000), user_id: userId, ...extra });

/** Posts `signedRequest` to igauth's Meta callback `route` (`deauthorize`, `data-deletion`). */
export const metaCallback = (igauth, route, signedRequest) =>
  call(`${igauth.url}/v1/meta/${route}`, { method: 'POST', form: { signed_request: signedRequest } });
