import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { HttpError } from '../http/errors.js';
import type { AppContext } from '../context.js';
import { cookie, parseCookies, readForm, redirect, sendHtml } from './http.js';
import type { Html } from './html.js';
import { SESSION_IDLE_DAYS, createSession, findSession, type Session } from './sessions.js';
import { requestIsHttps } from '../ratelimit/client-ip.js';
import { serverSecret } from '../storage/server-secret.js';
import { sessionPrincipal, type Principal } from '../auth/principal.js';
import { startSecondFactor } from '../members/two-factor.js';

// Who is asking, and is this POST really from our own form.
// CSRF: logged-in forms carry the session's own token (ui_session.csrf_token), checked on every POST;
// the login form, which has no session yet, carries a token signed with a server secret (below).
// SameSite=Lax on the session cookie is a second wall: cross-site POSTs do not carry it at all.
//
// Cookies: over https (the socket, or a trusted proxy saying so: requestIsHttps) or with an https
// PUBLIC_URL, they are `Secure` and named with the `__Host-` prefix, which browsers accept only from
// a secure origin, with Path=/ and no Domain: a sibling subdomain or a plain-http page cannot set or
// overwrite them. Over plain http (development on localhost) they keep plain names.

export interface CookieNames {
  session: string;
  loginCsrf: string;
  /** a log-in whose password was right, waiting for its second factor (src/ui/login-code.ts) */
  secondFactor: string;
  secure: boolean;
}

const PLAIN: CookieNames = { session: 'cc_session', loginCsrf: 'cc_login_csrf', secondFactor: 'cc_login_2fa', secure: false };
const HOST: CookieNames = { session: '__Host-cc_session', loginCsrf: '__Host-cc_login_csrf', secondFactor: '__Host-cc_login_2fa', secure: true };

/** The cookie names and Secure flag of this request (the same request reads and writes the same names). */
export function cookieNames(ctx: AppContext, req: IncomingMessage): CookieNames {
  return requestIsHttps(req, ctx.config) || ctx.config.publicUrl.startsWith('https:') ? HOST : PLAIN;
}

export async function currentSession(ctx: AppContext, req: IncomingMessage): Promise<Session | null> {
  const token = parseCookies(req)[cookieNames(ctx, req).session];
  return token ? findSession(ctx.db.pool, token) : null;
}

/**
 * REQUIRE_TWO_FACTOR: what a password user without two-factor log-in may still reach — their Profile
 * page and the forms that set it up (or change the password), and logging out.
 */
const SET_UP_PATHS = /^\/(profile(\/(two-factor\/(setup|enable)|password))?|logout)\/?(\?|$)/;

function setUpFirst(ctx: AppContext, s: Session, path: string): boolean {
  return ctx.config.requireTwoFactor && s.withoutSecondFactor && !SET_UP_PATHS.test(path);
}

/** For GET pages: the session, or a redirect to the login page (then null: the caller stops). */
export async function pageSession(ctx: AppContext, req: IncomingMessage, res: ServerResponse, url: URL): Promise<Session | null> {
  const s = await currentSession(ctx, req);
  if (s && setUpFirst(ctx, s, url.pathname)) {
    redirect(res, '/profile');
    return null;
  }
  if (s) return s;
  redirect(res, `/login?next=${encodeURIComponent(url.pathname + url.search)}`);
  return null;
}

export function tokensEqual(a: string | null | undefined, b: string | null | undefined): boolean {
  if (!a || !b) return false;
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** For POSTs from logged-in pages: the session and the form, or 403 when either is missing or the token differs. */
export async function postSession(ctx: AppContext, req: IncomingMessage): Promise<{ session: Session; form: URLSearchParams }> {
  const session = await currentSession(ctx, req);
  const form = await readForm(req);
  if (!session) throw new HttpError('forbidden', 'not logged in, or the session expired');
  if (!tokensEqual(form.get('_csrf'), session.csrfToken)) throw new HttpError('forbidden', 'missing or wrong CSRF token; reload the page and try again');
  if (setUpFirst(ctx, session, req.url ?? '/')) throw new HttpError('forbidden', 'this server requires two-factor log-in (REQUIRE_TWO_FACTOR): set it up on your Profile page first');
  return { session, form };
}

// The login form's CSRF token, signed (HMAC-SHA256) with the database's 'login_csrf' secret
// (src/storage/server-secret.ts), instead of a double-submit pair a client can choose:
//   cookie: "<nonce>.<issued unix secs>.<HMAC('cookie', nonce, issued)>" — only values this server
//           issued, and for LOGIN_CSRF_MAX_AGE_SECS, are accepted;
//   form:   HMAC('form', nonce) — a page can only carry it if it was served to the cookie's holder.
// A cross-site form can neither read the token nor set the cookie (`__Host-` over https).

/** How long a login page's token is good for: a day is more than anyone leaves a login form open. */
const LOGIN_CSRF_MAX_AGE_SECS = 86400;

function mac(secret: Buffer, ...parts: string[]): string {
  return createHmac('sha256', secret).update(parts.join('\n')).digest('base64url');
}

/** The nonce of a login CSRF cookie this server issued and that is still fresh, else null. */
function validLoginCookie(secret: Buffer, value: string | undefined, nowSecs: number): string | null {
  const m = value ? /^([A-Za-z0-9_-]{22})\.(\d{1,12})\.([A-Za-z0-9_-]{43})$/.exec(value) : null;
  if (!m) return null;
  const issued = Number(m[2]);
  if (nowSecs - issued > LOGIN_CSRF_MAX_AGE_SECS || issued > nowSecs + 60) return null;
  return tokensEqual(m[3], mac(secret, 'cookie', m[1]!, m[2]!)) ? m[1]! : null;
}

/** The login form's token: from the visitor's cookie when this server issued it, else a new cookie. */
export async function loginCsrf(ctx: AppContext, req: IncomingMessage): Promise<{ token: string; setCookie: string | null }> {
  const secret = await serverSecret(ctx.db.pool, 'login_csrf');
  const names = cookieNames(ctx, req);
  const now = Math.floor(Date.now() / 1000);
  const have = validLoginCookie(secret, parseCookies(req)[names.loginCsrf], now);
  if (have) return { token: mac(secret, 'form', have), setCookie: null };
  const nonce = randomBytes(16).toString('base64url');
  const value = `${nonce}.${now}.${mac(secret, 'cookie', nonce, String(now))}`;
  return { token: mac(secret, 'form', nonce), setCookie: cookie(names.loginCsrf, value, { secure: names.secure, maxAgeSecs: LOGIN_CSRF_MAX_AGE_SECS }) };
}

/**
 * Sends a page whose form has no session yet (log-in, invite, password reset, log-in code): `page`
 * gets the login form's token, and its cookie is set when it is new (beside any in `headers`).
 */
export async function sendLoginForm(ctx: AppContext, req: IncomingMessage, res: ServerResponse, status: number, page: (csrf: string) => Html, headers: Record<string, string | string[]> = {}): Promise<void> {
  const { token, setCookie } = await loginCsrf(ctx, req);
  const cookies = [...[headers['set-cookie'] ?? []].flat(), ...(setCookie ? [setCookie] : [])];
  sendHtml(res, status, page(token), cookies.length ? { ...headers, 'set-cookie': cookies } : headers);
}

/** Whether a login POST carries the token of its own (server-issued, fresh) cookie. */
export async function loginCsrfValid(ctx: AppContext, req: IncomingMessage, token: string | null): Promise<boolean> {
  const secret = await serverSecret(ctx.db.pool, 'login_csrf');
  const nonce = validLoginCookie(secret, parseCookies(req)[cookieNames(ctx, req).loginCsrf], Math.floor(Date.now() / 1000));
  return nonce !== null && tokensEqual(token, mac(secret, 'form', nonce));
}

/**
 * The session's user as a Principal (src/auth/principal.ts), for the same checks the API makes:
 * `requireScope(await uiPrincipal(ctx, session), 'project:write')` answers 403 with an error page.
 */
export function uiPrincipal(ctx: AppContext, session: Session): Promise<Principal> {
  return sessionPrincipal(ctx.db.pool, session.user);
}

/**
 * Opens a session for a user who just proved who they are without one (a password log-in, an accepted
 * invite, a password reset) and sends the browser on to `to`; the login form's CSRF cookie is spent.
 */
export async function startSession(ctx: AppContext, req: IncomingMessage, res: ServerResponse, userId: number, to: string): Promise<void> {
  const { token } = await createSession(ctx.db.pool, userId);
  const names = cookieNames(ctx, req);
  redirect(res, to, {
    'set-cookie': [
      cookie(names.session, token, { secure: names.secure, maxAgeSecs: SESSION_IDLE_DAYS * 86400 }),
      cookie(names.loginCsrf, '', { secure: names.secure, maxAgeSecs: 0 }),
      cookie(names.secondFactor, '', { secure: names.secure, maxAgeSecs: 0 }),
    ],
  });
}

/**
 * Instead of a session, for a user with two-factor log-in: the log-in waits for its code (GET
 * /login/code, src/ui/login-code.ts), named by a cookie for LOGIN_SECOND_FACTOR_SECS.
 */
export async function askSecondFactor(ctx: AppContext, req: IncomingMessage, res: ServerResponse, userId: number, next: string): Promise<void> {
  const token = await startSecondFactor(ctx.db.pool, userId, next, ctx.config.loginSecondFactorSecs);
  const names = cookieNames(ctx, req);
  redirect(res, '/login/code', { 'set-cookie': cookie(names.secondFactor, token, { secure: names.secure, maxAgeSecs: ctx.config.loginSecondFactorSecs }) });
}
