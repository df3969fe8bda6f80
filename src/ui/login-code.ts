import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AppContext } from '../context.js';
import { HttpError } from '../http/errors.js';
import { checkSecondFactor, endSecondFactor, failSecondFactor, pendingLogin } from '../members/two-factor.js';
import { cookieNames, loginCsrfValid, sendLoginForm, startSession } from './auth.js';
import { html } from './html.js';
import { cookie, parseCookies, readForm, redirect } from './http.js';
import { layout } from './layout.js';
import { showLogin } from './login.js';
import { chargeAttempt, loginKeys, loginSucceeded, refundAttempt } from './login-throttle.js';

// The second step of a log-in for users with two-factor log-in (src/members/two-factor.ts): GET/POST
// /login/code asks for the authenticator app's code, or a recovery code. The log-in waiting for it is
// named by a cookie whose token is kept (sha-256) in login_second_factor for LOGIN_SECOND_FACTOR_SECS.
// Each code is charged to the login throttle like a password (login-throttle.ts): refused at the
// address's or the pair's limit, slowed past the account's, so six digits cannot be walked through;
// after LOGIN_MAX_FAILURES_PER_ACCOUNT wrong codes the password is asked again.

/** Wrong codes before the password is asked again (LOGIN_MAX_FAILURES_PER_ACCOUNT; 5 when that limit is off). */
const triesOf = (ctx: AppContext) => ctx.config.loginMaxFailuresPerAccount || 5;

function codePage(csrf: string, error: string | null) {
  return layout({
    title: 'Log in: your code',
    body: html`<div class="login">
<h1>Your code</h1>
${error ? html`<p class="error" role="alert">${error}</p>` : ''}
<form method="post" action="/login/code" id="code-form">
  <input type="hidden" name="_csrf" value="${csrf}">
  <label for="code">The 6-digit code your authenticator app shows, or a recovery code</label>
  <input id="code" name="code" type="text" inputmode="numeric" autocomplete="one-time-code" maxlength="20" required autofocus>
  <button class="primary" type="submit">Log in</button>
</form>
<p><a href="/login">Start again</a></p>
</div>`,
  });
}

const send = (ctx: AppContext, req: IncomingMessage, res: ServerResponse, status: number, error: string | null, headers: Record<string, string> = {}) =>
  sendLoginForm(ctx, req, res, status, (csrf) => codePage(csrf, error), headers);

const tokenOf = (ctx: AppContext, req: IncomingMessage) => parseCookies(req)[cookieNames(ctx, req).secondFactor];

const AGAIN = 'Your log-in waited too long for its code, or had too many wrong codes: enter your password again.';

export async function getLoginCode(ctx: AppContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  if (!(await pendingLogin(ctx.db.pool, tokenOf(ctx, req)))) return redirect(res, '/login');
  await send(ctx, req, res, 200, null);
}

export async function postLoginCode(ctx: AppContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const form = await readForm(req);
  if (!(await loginCsrfValid(ctx, req, form.get('_csrf')))) throw new HttpError('forbidden', 'missing or wrong CSRF token; reload the page and try again');
  const token = tokenOf(ctx, req);
  const pending = await pendingLogin(ctx.db.pool, token);
  if (!token || !pending) return showLogin(ctx, req, res, 401, '/projects', AGAIN);
  const keys = loginKeys(req, ctx.config, pending.email);
  const decided = await chargeAttempt(ctx.db.pool, ctx.config, keys, ctx.log);
  if ('scope' in decided) {
    ctx.log.warn('login code refused', { limit: decided.scope, ip: keys.ip, user: pending.userId, retry_after: decided.retryAfterSecs });
    return send(ctx, req, res, 429, `Too many failed log-ins. Try again in ${decided.retryAfterSecs} seconds.`, { 'retry-after': String(decided.retryAfterSecs) });
  }
  if (decided.waitSecs > 0) await new Promise((r) => setTimeout(r, decided.waitSecs * 1000));
  const how = await checkSecondFactor(ctx.db.pool, pending.userId, form.get('code') ?? '');
  if (!how) {
    ctx.log.info('login code wrong', { user: pending.userId, ip: keys.ip, attempt: pending.attempts + 1 });
    if (!(await failSecondFactor(ctx.db.pool, token, triesOf(ctx)))) {
      const names = cookieNames(ctx, req);
      return showLogin(ctx, req, res, 401, pending.next, AGAIN, { 'set-cookie': cookie(names.secondFactor, '', { secure: names.secure, maxAgeSecs: 0 }) });
    }
    return send(ctx, req, res, 401, 'Wrong code. Codes change every 30 seconds: type the one shown now.');
  }
  // this code's charge back, then the log-in's own (the password's) as any successful log-in
  await refundAttempt(ctx.db.pool, ctx.config, keys);
  await loginSucceeded(ctx.db.pool, ctx.config, keys);
  await endSecondFactor(ctx.db.pool, token);
  if (how === 'recovery') ctx.log.warn('login with a recovery code', { user: pending.userId, ip: keys.ip });
  await startSession(ctx, req, res, pending.userId, pending.next);
}
