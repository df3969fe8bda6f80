import type { IncomingMessage, ServerResponse } from 'node:http';
import { HttpError } from '../http/errors.js';
import type { AppContext } from '../context.js';
import { cookieNames, currentSession, loginCsrf, loginCsrfValid, postSession } from './auth.js';
import { html } from './html.js';
import { cookie, readForm, redirect, safeNext, sendHtml } from './http.js';
import { layout } from './layout.js';
import { chargeAttempt, loginKeys, loginSucceeded, refundAttempt } from './login-throttle.js';
import { SESSION_IDLE_DAYS, createSession, deleteSession } from './sessions.js';
import { authenticate } from './users.js';

function loginPage(csrf: string, next: string, email: string, error: string | null) {
  return layout({
    title: 'Log in',
    body: html`<div class="login">
<h1>Log in</h1>
${error ? html`<p class="error" role="alert">${error}</p>` : ''}
<form method="post" action="/login">
  <input type="hidden" name="_csrf" value="${csrf}">
  <input type="hidden" name="next" value="${next}">
  <label for="email">E-mail</label>
  <input id="email" name="email" type="email" autocomplete="username" required autofocus value="${email}">
  <label for="password">Password</label>
  <input id="password" name="password" type="password" autocomplete="current-password" required>
  <button class="primary" type="submit">Log in</button>
</form>
<p class="muted">No account? An administrator creates one with <code>crash-cache-cli user create --email you@example.com</code>.</p>
</div>`,
  });
}

export async function getLogin(ctx: AppContext, req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
  const next = safeNext(url.searchParams.get('next'));
  if (await currentSession(ctx, req)) return redirect(res, next);
  const { token, setCookie } = await loginCsrf(ctx, req);
  sendHtml(res, 200, loginPage(token, next, '', null), setCookie ? { 'set-cookie': setCookie } : {});
}

export async function postLogin(ctx: AppContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const form = await readForm(req);
  if (!(await loginCsrfValid(ctx, req, form.get('_csrf')))) {
    throw new HttpError('forbidden', 'missing or wrong CSRF token; reload the login page and try again');
  }
  const email = form.get('email') ?? '';
  const next = safeNext(form.get('next'));
  const again = async (status: number, error: string, headers: Record<string, string> = {}) => {
    const { token, setCookie } = await loginCsrf(ctx, req);
    sendHtml(res, status, loginPage(token, next, email, error), setCookie ? { ...headers, 'set-cookie': setCookie } : headers);
  };
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
  await loginSucceeded(ctx.db.pool, ctx.config, keys);
  const { token } = await createSession(ctx.db.pool, user.id);
  const names = cookieNames(ctx, req);
  redirect(res, next, {
    'set-cookie': [
      cookie(names.session, token, { secure: names.secure, maxAgeSecs: SESSION_IDLE_DAYS * 86400 }),
      cookie(names.loginCsrf, '', { secure: names.secure, maxAgeSecs: 0 }),
    ],
  });
}

export async function postLogout(ctx: AppContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const { session } = await postSession(ctx, req);
  await deleteSession(ctx.db.pool, session.tokenSha256);
  const names = cookieNames(ctx, req);
  redirect(res, '/login', { 'set-cookie': cookie(names.session, '', { secure: names.secure, maxAgeSecs: 0 }) });
}
