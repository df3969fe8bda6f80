import { createHmac, timingSafeEqual } from 'node:crypto';
import type pg from 'pg';
import { serverSecret } from '../storage/server-secret.js';

// What a log-in through the provider must remember between sending the browser there and its return to
// /login/oidc/callback: the state, the nonce, the PKCE code verifier and where to go afterwards. Kept in
// the browser, in one HttpOnly cookie signed (HMAC-SHA256) with the database's 'oidc_state' secret
// (src/storage/server-secret.ts), as the login form's CSRF token is (src/ui/auth.ts): nothing is stored
// per attempt, so anonymous visitors cannot fill a table, and every server process accepts the cookie.
// It is good for MAX_AGE_SECS; the callback deletes it whatever the outcome, and a replayed callback
// gets nowhere anyway: the provider redeems its code once.
// The verifier is in the browser that started the log-in, which is where PKCE needs it kept from:
// whoever intercepts the code (a redirect logged, another app) has no cookie.

export const MAX_AGE_SECS = 600;

export interface LoginState {
  state: string;
  nonce: string;
  verifier: string;
  /** a local path (safeNext) */
  next: string;
}

function mac(secret: Buffer, body: string): string {
  return createHmac('sha256', secret).update('oidc-state\n' + body).digest('base64url');
}

export async function sealState(db: pg.Pool, s: LoginState, nowSecs = Math.floor(Date.now() / 1000)): Promise<string> {
  const body = Buffer.from(JSON.stringify({ s: s.state, n: s.nonce, v: s.verifier, x: s.next, t: nowSecs })).toString('base64url');
  return `${body}.${mac(await serverSecret(db, 'oidc_state'), body)}`;
}

/** The state a cookie this server issued carries, if it is unaltered and fresh; else null. */
export async function openState(db: pg.Pool, value: string | undefined, nowSecs = Math.floor(Date.now() / 1000)): Promise<LoginState | null> {
  const m = value ? /^([A-Za-z0-9_-]{1,3000})\.([A-Za-z0-9_-]{43})$/.exec(value) : null;
  if (!m) return null;
  const expected = Buffer.from(mac(await serverSecret(db, 'oidc_state'), m[1]!));
  const given = Buffer.from(m[2]!);
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) return null;
  let j: { s?: unknown; n?: unknown; v?: unknown; x?: unknown; t?: unknown };
  try {
    j = JSON.parse(Buffer.from(m[1]!, 'base64url').toString('utf8'));
  } catch {
    return null;
  }
  if (typeof j.t !== 'number' || nowSecs - j.t > MAX_AGE_SECS || j.t > nowSecs + 60) return null;
  if (typeof j.s !== 'string' || typeof j.n !== 'string' || typeof j.v !== 'string' || typeof j.x !== 'string') return null;
  return { state: j.s, nonce: j.n, verifier: j.v, next: j.x };
}
