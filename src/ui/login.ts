import type { IncomingMessage, ServerResponse } from 'node:http';
import { HttpError } from '../http/errors.js';
import type { AppContext } from '../context.js';
import { askSecondFactor, cookieNames, currentSession, loginCsrfValid, postSession, sendLoginForm, startSession } from './auth.js';
import { html } from './html.js';
import { cookie, readForm, redirect, safeNext } from './http.js';
import { layout } from './layout.js';
import { chargeAttempt, loginKeys, loginSucceeded, refundAttempt } from './login-throttle.js';
import { deleteSession } from './sessions.js';
import { authenticate } from './users.js';
import { oidcClient } from '../oidc/client.js';
import { endSessionUrl, sendLoggedOut } from './oidc-logout.js';
import { passwordResetOffered } from './password-reset-page.js';
import { needsSecondFactor } from '../members/two-factor.js';

/** What the login page offers: the password form (PASSWORD_LOGIN), the provider's button (OIDC_ISSUER). */
interface LoginOptions {
  password: boolean;
  /** "Forgot your password?" (password log-in and SMTP_URL) */
  reset: boolean;
  /** the button's label, or null without OIDC */
  provider: string | null;
  /** why single sign-on is unavailable (discovery failed), shown under its button */
  providerError: string | null;
}

function loginOptions(ctx: AppContext): LoginOptions {
  const client = oidcClient(ctx);
  return { password: ctx.config.passwordLogin, reset: passwordResetOffered(ctx), provider: client ? ctx.config.oidcProviderName : null, providerError: client?.status().error ?? null };
}

function loginPage(o: LoginOptions, csrf: string, next: string, email: string, error: string | null) {
  return layout({
    title: 'Log in',
    body: html`<div class="login">
<h1>Log in</h1>
${error ? html`<p class="error" role="alert">${error}</p>` : ''}
${o.provider
    ? html`<p><a class="button sso" href="/login/oidc?next=${encodeURIComponent(next)}">Log in with ${o.provider}</a></p>
${o.providerError ? html`<p class="muted">${o.provider} cannot be reached right now: ${o.providerError}</p>` : ''}`
    : ''}
${o.password
    ? html`<form method="post" action="/login">
  <input type="hidden" name="_csrf" value="${csrf}">
  <input type="hidden" name="next" value="${next}">
  <label for="email">E-mail</label>
  <input id="email" name="email" type="email" autocomplete="username" required autofocus value="${email}">
  <label for="password">Password</label>
  <input id="password" name="password" type="password" autocomplete="current-password" required>
  <button class="primary" type="submit">Log in</button>
</form>
${o.reset ? html`<p><a href="/password/forgot" id="forgot">Forgot your password?</a></p>` : ''}
<p class="muted">No account? An administrator creates one with <code>crash-cache-cli user create --email you@example.com</code>.</p>`
    : ''}
</div>`,
  });
}

/** The login page with a message (a refused or failed log-in), with `status`. */
export async function showLogin(ctx: AppContext, req: IncomingMessage, res: ServerResponse, status: number, next: string, error: string | null, headers: Record<string, string | string[]> = {}): Promise<void> {
  await sendLoginForm(ctx, req, res, status, (csrf) => loginPage(loginOptions(ctx), csrf, next, '', error), headers);
}

export async function getLogin(ctx: AppContext, req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
  const next = safeNext(url.searchParams.get('next'));
  if (await currentSession(ctx, req)) return redirect(res, next);
  await showLogin(ctx, req, res, 200, next, null);
}

export async function postLogin(ctx: AppContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  // PASSWORD_LOGIN=false: only the provider logs in; the operator still has crash-cache-cli (README).
  if (!ctx.config.passwordLogin) throw new HttpError('forbidden', `password log-in is turned off (PASSWORD_LOGIN=false); log in with ${ctx.config.oidcProviderName}`);
  const form = await readForm(req);
  if (!(await loginCsrfValid(ctx, req, form.get('_csrf')))) {
    throw new HttpError('forbidden', 'missing or wrong CSRF token; reload the login page and try again');
  }
  const email = form.get('email') ?? '';
  const next = safeNext(form.get('next'));
  const again = (status: number, error: string, headers: Record<string, string> = {}) =>
    sendLoginForm(ctx, req, res, status, (csrf) => loginPage(loginOptions(ctx), csrf, next, email, error), headers);
  // No e-mail, no password check: nothing to guess, nothing to count.
  if (!email) return again(401, 'Wrong e-mail or password.');
  const keys = loginKeys(req, ctx.config, email);
  const decided = await chargeAttempt(ctx.db.pool, ctx.config, keys, ctx.log);
  if ('scope' in decided) {
    ctx.log.warn('login refused', { limit: decided.scope, ip: keys.ip, email: email.slice(0, 254), retry_after: decided.retryAfterSecs });
    const wait = decided.retryAfterSecs < 120 ? `${decided.retryAfterSecs} seconds` : `${Math.ceil(decided.retryAfterSecs / 60)} minutes`;
    const who = decided.scope === 'ip' ? 'from your address' : 'for this e-mail address from your address';
    return again(429, `Too many failed log-ins ${who}. Try again in ${wait}.`, { 'retry-after': String(decided.retryAfterSecs) });
  }
  if (decided.waitSecs > 0) {
    // the account is past its failures from every address: slowed, not refused (login-throttle.ts)
    ctx.log.info('login slowed', { ip: keys.ip, email: email.slice(0, 254), wait_secs: Math.round(decided.waitSecs * 10) / 10 });
    await new Promise((r) => setTimeout(r, decided.waitSecs * 1000));
  }
  let user;
  try {
    user = await authenticate(ctx.db.pool, email, form.get('password') ?? '');
  } catch (e) {
    // Not a wrong password (too many checks waiting, the database): this attempt does not count.
    await refundAttempt(ctx.db.pool, ctx.config, keys).catch(() => {});
    throw e;
  }
  if (!user) {
    ctx.log.info('login failed', { email: email.slice(0, 254), ip: keys.ip });
    return again(401, 'Wrong e-mail or password.');
  }
  if (await needsSecondFactor(ctx.db.pool, user.id)) {
    // The attempt stays counted until the code comes (login-code.ts): a right password alone clears
    // nothing, so wrong codes add up with the account's failed log-ins.
    ctx.log.info('login password right; asking for the second factor', { user: user.id, ip: keys.ip });
    return askSecondFactor(ctx, req, res, user.id, next);
  }
  await loginSucceeded(ctx.db.pool, ctx.config, keys);
  await startSession(ctx, req, res, user.id, next);
}

export async function postLogout(ctx: AppContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const { session } = await postSession(ctx, req);
  const idToken = await deleteSession(ctx.db.pool, session.tokenSha256);
  const names = cookieNames(ctx, req);
  const clear = { 'set-cookie': cookie(names.session, '', { secure: names.secure, maxAgeSecs: 0 }) };
  // A session opened through the provider ends there too (RP-initiated logout), when it has an end_session_endpoint.
  const providerLogout = idToken ? endSessionUrl(ctx, idToken) : null;
  if (providerLogout) return sendLoggedOut(res, ctx.config.oidcProviderName, providerLogout, clear);
  redirect(res, '/login', clear);
}
