import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { HttpError } from '../http/errors.js';
import type { AppContext } from '../server/context.js';
import { cookie, parseCookies, readForm, redirect } from './http.js';
import { findSession, type Session } from './sessions.js';

// Who is asking, and is this POST really from our own form.
// CSRF: logged-in forms carry the session's own token (ui_session.csrf_token), checked on every POST;
// the login form, which has no session yet, uses a double-submit cookie (cc_login_csrf). SameSite=Lax
// on the session cookie is a second wall: cross-site POSTs do not carry it at all.

export const SESSION_COOKIE = 'cc_session';
export const LOGIN_CSRF_COOKIE = 'cc_login_csrf';

export function secureCookies(ctx: AppContext): boolean {
  return ctx.config.publicUrl.startsWith('https:');
}

export async function currentSession(ctx: AppContext, req: IncomingMessage): Promise<Session | null> {
  const token = parseCookies(req)[SESSION_COOKIE];
  return token ? findSession(ctx.db.pool, token) : null;
}

/** For GET pages: the session, or a redirect to the login page (then null: the caller stops). */
export async function pageSession(ctx: AppContext, req: IncomingMessage, res: ServerResponse, url: URL): Promise<Session | null> {
  const s = await currentSession(ctx, req);
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
  return { session, form };
}

/** The login form's double-submit token: reuses the visitor's cookie or makes one. */
export function loginCsrf(ctx: AppContext, req: IncomingMessage): { token: string; setCookie: string | null } {
  const have = parseCookies(req)[LOGIN_CSRF_COOKIE];
  if (have && /^[A-Za-z0-9_-]{32}$/.test(have)) return { token: have, setCookie: null };
  const token = randomBytes(24).toString('base64url');
  return { token, setCookie: cookie(LOGIN_CSRF_COOKIE, token, { secure: secureCookies(ctx) }) };
}
