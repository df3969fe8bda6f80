import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AppContext } from '../context.js';
import { HttpError } from '../http/errors.js';
import { acceptInvite, inviteForToken, PASSWORD_LOGIN_OFF, type InviteRow } from '../members/invites.js';
import { loginCsrfValid, sendLoginForm, startSession } from './auth.js';
import { html } from './html.js';
import { readForm } from './http.js';
import { layout } from './layout.js';
import { hashPassword } from './password.js';

// Accepting an invite: GET /invite/<token> shows the invite's e-mail (fixed) and asks for a password;
// POST creates the user with the invite's role and projects and logs them in. An unknown, used or
// expired link is an error page saying which (src/members/invites.ts), and nothing is created. The
// form has no session yet, so it carries the login form's signed CSRF token (src/ui/auth.ts).

function acceptPage(invite: InviteRow, token: string, csrf: string, error: string | null) {
  return layout({
    title: 'Accept the invite',
    body: html`<div class="login">
<h1>Join crash-cache</h1>
<p>${invite.inviter_email ?? 'An administrator'} invited you as <b>${invite.role}</b>.</p>
${error ? html`<p class="error" role="alert">${error}</p>` : ''}
<form method="post" action="/invite/${token}">
  <input type="hidden" name="_csrf" value="${csrf}">
  <label for="email">E-mail</label>
  <input id="email" type="email" value="${invite.email}" autocomplete="username" readonly>
  <label for="password">Choose a password (at least 8 characters)</label>
  <input id="password" name="password" type="password" autocomplete="new-password" minlength="8" required autofocus>
  <label for="password2">Repeat it</label>
  <input id="password2" name="password2" type="password" autocomplete="new-password" minlength="8" required>
  <button class="primary" type="submit">Create my account</button>
</form>
</div>`,
  });
}

export async function getInvite(ctx: AppContext, req: IncomingMessage, res: ServerResponse, token: string): Promise<void> {
  if (!ctx.config.passwordLogin) throw new HttpError('forbidden', PASSWORD_LOGIN_OFF);
  const invite = await inviteForToken(ctx.db.pool, token);
  await sendLoginForm(ctx, req, res, 200, (csrf) => acceptPage(invite, token, csrf, null));
}

export async function postInvite(ctx: AppContext, req: IncomingMessage, res: ServerResponse, token: string): Promise<void> {
  if (!ctx.config.passwordLogin) throw new HttpError('forbidden', PASSWORD_LOGIN_OFF);
  const form = await readForm(req);
  if (!(await loginCsrfValid(ctx, req, form.get('_csrf')))) throw new HttpError('forbidden', 'missing or wrong CSRF token; reload the invite page and try again');
  const invite = await inviteForToken(ctx.db.pool, token);
  const password = form.get('password') ?? '';
  const problem = password.length < 8 ? 'A password has at least 8 characters.' : password !== form.get('password2') ? 'The two passwords differ.' : null;
  if (problem) return sendLoginForm(ctx, req, res, 400, (csrf) => acceptPage(invite, token, csrf, problem));
  const user = await acceptInvite(ctx.db.pool, token, await hashPassword(password));
  ctx.log.info('invite accepted', { invite: invite.id, user: user.id, role: user.role });
  await startSession(ctx, req, res, user.id, '/projects');
}
