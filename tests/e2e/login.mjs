// igauth's login flow as an app and its browser go through it: PKCE, /v1/authorize, the
// callback, and /v1/token.
import { createHash, randomBytes } from 'node:crypto';

import { APP_RETURN, call } from './harness.mjs';

/** A PKCE pair as an app makes one: a random verifier and its S256 challenge. */
export function pkce() {
  const verifier = randomBytes(32).toString('base64url');
  const challenge = createHash('sha256').update(verifier).digest('base64url');
  return { verifier, challenge };
}

let logins = 0;

/**
 * A login through igauth's flow as a browser makes it, as Instagram user `userId` (the fake
 * issues `CODE-<id>-...` codes for anyone): authorize with a PKCE challenge, then the callback
 * with the state and the binding cookie. Returns the final Location and the verifier.
 */
export async function logIn(igauth, userId, { challenge, verifier } = pkce()) {
  const started = await fetch(
    `${igauth.url}/v1/authorize?${new URLSearchParams({ return_to: APP_RETURN, code_challenge: challenge, code_challenge_method: 'S256' })}`,
    { redirect: 'manual' },
  );
  if (started.status !== 302) throw new Error(`authorize answered ${started.status}: ${await started.text()}`);
  const state = new URL(started.headers.get('location')).searchParams.get('state');
  const cookie = started.headers.get('set-cookie').split(';')[0];
  const code = `CODE-${userId}-login${++logins}`;
  const back = await fetch(`${igauth.url}/v1/callback?${new URLSearchParams({ code, state })}`, {
    redirect: 'manual',
    headers: { cookie },
  });
  if (back.status !== 302) throw new Error(`callback answered ${back.status}: ${await back.text()}`);
  return { location: back.headers.get('location'), verifier };
}

/** The handoff code in a login's final Location (`myapp://auth#code=...`), or null. */
export const handoffCode = (location) => new URLSearchParams(location.split('#')[1] ?? '').get('code');

/** `POST /v1/token`: the handoff code and verifier for the login's result. */
export const redeem = (igauth, code, verifier, headers = {}) =>
  call(`${igauth.url}/v1/token`, { method: 'POST', json: { code, code_verifier: verifier }, headers });
