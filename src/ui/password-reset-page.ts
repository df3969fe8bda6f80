import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AppContext } from '../context.js';
import { HttpError } from '../http/errors.js';
import { sendEmail } from '../alerts/send-email.js';
import { requestPasswordReset, resetEmail, resetLink, resetLinkAccount, resetPassword } from '../members/password-reset.js';
import { askSecondFactor, loginCsrfValid, sendLoginForm, startSession } from './auth.js';
import { needsSecondFactor } from '../members/two-factor.js';
import { mailSecurityChange } from '../members/security-mail.js';
import { html } from './html.js';
import { readForm } from './http.js';
import { layout } from './layout.js';
import { chargeAddress, loginKeys } from './login-throttle.js';
import { hashPassword } from './password.js';

// "Forgot your password?": GET/POST /password/forgot asks for the address and e-mails a link
// (src/members/password-reset.ts); GET/POST /password/reset/<token> chooses the new password and logs
// the user in. Offered with PASSWORD_LOGIN and SMTP_URL only. The request's answer is the same
// whether or not the address has an account, and it comes before the e-mail is sent (the SMTP
// exchange would otherwise time the answer by the account's existence). The forms have no session,
// so they carry the login form's signed CSRF token (src/ui/auth.ts).

/** Whether the login page offers it. */
export function passwordResetOffered(ctx: AppContext): boolean {
  return ctx.config.passwordLogin && ctx.config.smtpUrl !== undefined;
}

function available(ctx: AppContext): void {
  if (!ctx.config.passwordLogin) throw new HttpError('forbidden', 'password log-in is turned off (PASSWORD_LOGIN=false): there is no password to reset; log in with single sign-on');
  if (ctx.config.smtpUrl === undefined) throw new HttpError('not_found', 'this server cannot send e-mail (SMTP_URL is not set), so it cannot send a reset link: ask an administrator to set a new password with crash-cache-cli user password');
}

const forgotPage = (ctx: AppContext, message: { error?: string; notice?: string }) => (csrf: string) => layout({
  title: 'Forgot your password?',
  body: html`<div class="login">
<h1>Forgot your password?</h1>
${message.error ? html`<p class="error" role="alert">${message.error}</p>` : ''}
${message.notice ? html`<p class="notice" role="status" id="reset-sent">${message.notice}</p>` : html`<form method="post" action="/password/forgot" id="forgot-form">
  <input type="hidden" name="_csrf" value="${csrf}">
  <label for="email">Your e-mail address</label>
  <input id="email" name="email" type="email" autocomplete="username" required autofocus>
  <button class="primary" type="submit">E-mail me a link</button>
</form>
<p class="muted">The link lets you choose a new password; it works once, for ${String(ctx.config.passwordResetTtlMinutes)} minutes.</p>`}
<p><a href="/login">Back to log in</a></p>
</div>`,
});

export async function getForgot(ctx: AppContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  available(ctx);
  await sendLoginForm(ctx, req, res, 200, forgotPage(ctx, {}));
}

export async function postForgot(ctx: AppContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  available(ctx);
  const form = await readForm(req);
  if (!(await loginCsrfValid(ctx, req, form.get('_csrf')))) throw new HttpError('forbidden', 'missing or wrong CSRF token; reload the page and try again');
  const email = (form.get('email') ?? '').trim();
  if (!email) return sendLoginForm(ctx, req, res, 400, forgotPage(ctx, { error: 'Enter your e-mail address.' }));
  const keys = loginKeys(req, ctx.config, email);
  const refused = await chargeAddress(ctx.db.pool, ctx.config, keys.ip, ctx.log);
  if (refused) {
    ctx.log.warn('password reset refused', { ip: keys.ip, retry_after: refused.retryAfterSecs });
    const wait = refused.retryAfterSecs < 120 ? `${refused.retryAfterSecs} seconds` : `${Math.ceil(refused.retryAfterSecs / 60)} minutes`;
    return sendLoginForm(ctx, req, res, 429, forgotPage(ctx, { error: `Too many requests from your address. Try again in ${wait}.` }), { 'retry-after': String(refused.retryAfterSecs) });
  }
  const made = await requestPasswordReset(ctx.db.pool, ctx.config, email);
  await sendLoginForm(ctx, req, res, 200, forgotPage(ctx, {
    notice: `If ${email} is the address of an account here that logs in with a password, a link to choose a new one is on its way (unless one was sent in the last ${String(ctx.config.passwordResetMinIntervalSecs)} seconds). It works once, for ${String(ctx.config.passwordResetTtlMinutes)} minutes.`,
  }));
  if (!made) return void ctx.log.info('password reset: no link made', { ip: keys.ip });
  ctx.log.info('password reset link made', { user: made.userId, ip: keys.ip });
  // after the answer: its timing says nothing of the account (a lost e-mail is asked for again)
  const mail = resetEmail(resetLink(ctx.config, made.token), made, keys.ip);
  void sendEmail(ctx.config, [made.email], mail, null)
    .then((r) => (r.ok ? ctx.log.info('password reset e-mail sent', { user: made.userId }) : ctx.log.warn('password reset e-mail not sent', { user: made.userId, reply: r.reply })))
    .catch((e: Error) => ctx.log.warn('password reset e-mail not sent', { user: made.userId, error: e.message }));
}

const resetPage = (email: string, token: string, error: string | null) => (csrf: string) => layout({
  title: 'Choose a new password',
  body: html`<div class="login">
<h1>Choose a new password</h1>
${error ? html`<p class="error" role="alert">${error}</p>` : ''}
<form method="post" action="/password/reset/${token}" id="reset-form">
  <input type="hidden" name="_csrf" value="${csrf}">
  <label for="email">E-mail</label>
  <input id="email" type="email" value="${email}" autocomplete="username" readonly>
  <label for="password">New password (at least 8 characters)</label>
  <input id="password" name="password" type="password" autocomplete="new-password" minlength="8" required autofocus>
  <label for="password2">Repeat it</label>
  <input id="password2" name="password2" type="password" autocomplete="new-password" minlength="8" required>
  <button class="primary" type="submit">Set the password and log in</button>
</form>
<p class="muted">Every session of yours ends: you are logged out everywhere else.</p>
</div>`,
});

export async function getReset(ctx: AppContext, req: IncomingMessage, res: ServerResponse, token: string): Promise<void> {
  available(ctx);
  const account = await resetLinkAccount(ctx.db.pool, token);
  await sendLoginForm(ctx, req, res, 200, resetPage(account.email, token, null));
}

export async function postReset(ctx: AppContext, req: IncomingMessage, res: ServerResponse, token: string): Promise<void> {
  available(ctx);
  const form = await readForm(req);
  if (!(await loginCsrfValid(ctx, req, form.get('_csrf')))) throw new HttpError('forbidden', 'missing or wrong CSRF token; reload the page and try again');
  const account = await resetLinkAccount(ctx.db.pool, token);
  const password = form.get('password') ?? '';
  const problem = password.length < 8 ? 'A password has at least 8 characters.' : password !== form.get('password2') ? 'The two passwords differ.' : null;
  if (problem) return sendLoginForm(ctx, req, res, 400, resetPage(account.email, token, problem));
  const user = await resetPassword(ctx.db.pool, token, await hashPassword(password));
  ctx.log.info('password reset', { user: user.userId });
  await mailSecurityChange(ctx, req, { id: user.userId, email: user.email }, 'password reset');
  // a link proves the mailbox, not the second factor: a user who has one still gives its code
  if (await needsSecondFactor(ctx.db.pool, user.userId)) return askSecondFactor(ctx, req, res, user.userId, '/projects');
  await startSession(ctx, req, res, user.userId, '/projects');
}
