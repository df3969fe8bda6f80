import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AppContext } from '../context.js';
import { getMember } from '../members/members.js';
import { listProjects } from '../storage/projects.js';
import { pageSession, postSession } from './auth.js';
import { html } from './html.js';
import { redirect, sendHtml } from './http.js';
import { csrfField, layout } from './layout.js';
import type { Session } from './sessions.js';
import { authenticate, changeOwnPassword, setEmailSwitch } from './users.js';
import { disableTwoFactor } from '../members/two-factor.js';
import { mailSecurityChange } from '../members/security-mail.js';
import { twoFactorSection } from './two-factor-page.js';

// The user's own page: who they are (role, projects), their password (the current one is asked
// for; other sessions end), their e-mail switches (alerts sent to project members, e-mail about issues
// assigned to them or they take part in) and their two-factor log-in (two-factor-page.ts).

interface Message {
  error?: string;
  notice?: string;
}

async function render(ctx: AppContext, res: ServerResponse, session: Session, status: number, msg: Message): Promise<void> {
  const me = (await getMember(ctx.db.pool, Number(session.user.id)))!;
  const names = new Map((await listProjects(ctx.db.pool)).map((p) => [Number(p.id), p.name]));
  const projects = me.all_projects || me.role === 'owner' || me.role === 'admin' ? 'every project' : me.project_ids.map((id) => names.get(id) ?? `#${id}`).join(', ') || 'none';
  sendHtml(res, status, layout({ title: 'Profile', session, section: 'profile', body: html`<h1>Profile</h1>
${msg.error ? html`<p class="error" role="alert">${msg.error}</p>` : ''}${msg.notice ? html`<p class="notice" role="status" id="profile-notice">${msg.notice}</p>` : ''}
${ctx.config.requireTwoFactor && me.has_password && !me.has_2fa ? html`<p class="error" role="alert" id="two-factor-required">This server requires two-factor log-in: set it up below (Two-factor log-in) before anything else.</p>` : ''}
<table class="facts"><tbody><tr><th>E-mail</th><td>${me.email}</td></tr><tr><th>Role</th><td id="my-role">${me.role}</td></tr><tr><th>Projects</th><td>${projects}</td></tr></tbody></table>
<h2>E-mail notifications</h2>
<form method="post" action="/profile/notifications" id="notifications">${csrfField(session)}
<p id="email-alerts">${me.email_alerts ? 'On: you get the alert e-mails that rules send to project members (each project\'s Alerts page can still turn one project off).' : 'Off: you get no alert e-mail sent to project members.'}
<input type="hidden" name="on" value="${me.email_alerts ? '0' : '1'}"> <button type="submit">${me.email_alerts ? 'Turn off' : 'Turn on'}</button></p>
</form>
<form method="post" action="/profile/notifications" id="issue-notifications">${csrfField(session)}<input type="hidden" name="which" value="issues">
<p id="email-issues">${me.email_workflow ? 'On: you get an e-mail when someone assigns an issue to you, and when someone comments on an issue you are assigned, commented on or bookmarked.' : 'Off: you get no e-mail about assignments and comments.'}
<input type="hidden" name="on" value="${me.email_workflow ? '0' : '1'}"> <button type="submit">${me.email_workflow ? 'Turn off' : 'Turn on'}</button></p>
</form>
<h2>Password</h2>
${me.has_password ? html`<form method="post" action="/profile/password" id="password-form">${csrfField(session)}
<input type="email" name="username" value="${me.email}" autocomplete="username" hidden>
<label for="current">Current password</label><input id="current" name="current" type="password" autocomplete="current-password" required>
<label for="password">New password (at least 8 characters)</label><input id="password" name="password" type="password" autocomplete="new-password" minlength="8" required>
<label for="password2">Repeat the new password</label><input id="password2" name="password2" type="password" autocomplete="new-password" minlength="8" required>
<p><button type="submit" class="primary">Change password</button> <span class="muted">Your other sessions end.</span></p>
</form>` : html`<p class="muted">You log in with single sign-on and have no password here.</p>`}
${await twoFactorSection(ctx, session, me.has_password)}` }));
}

export async function getProfile(ctx: AppContext, req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
  const session = await pageSession(ctx, req, res, url);
  if (!session) return;
  const saved = url.searchParams.get('saved');
  const notice = saved === 'password' ? 'Password changed; your other sessions ended.' : saved === 'two-factor-off' ? 'Two-factor log-in is off: your password alone logs you in.' : saved ? 'Saved.' : null;
  await render(ctx, res, session, 200, notice ? { notice } : {});
}

export async function postProfilePassword(ctx: AppContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const { session, form } = await postSession(ctx, req);
  const password = form.get('password') ?? '';
  if (password.length < 8) return render(ctx, res, session, 400, { error: 'A password has at least 8 characters; nothing changed.' });
  if (password !== form.get('password2')) return render(ctx, res, session, 400, { error: 'The two new passwords differ; nothing changed.' });
  if (!(await authenticate(ctx.db.pool, session.user.email, form.get('current') ?? ''))) {
    ctx.log.info('password change refused', { user: session.user.id });
    return render(ctx, res, session, 403, { error: 'The current password is wrong; nothing changed.' });
  }
  await changeOwnPassword(ctx.db.pool, Number(session.user.id), password, session.tokenSha256);
  ctx.log.info('password changed', { user: session.user.id });
  await mailSecurityChange(ctx, req, session.user, 'password changed');
  redirect(res, '/profile?saved=password');
}

export async function postProfileNotifications(ctx: AppContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const { session, form } = await postSession(ctx, req);
  const which = form.get('which') ?? 'alerts';
  if (which !== 'alerts' && which !== 'issues') return render(ctx, res, session, 400, { error: 'which must be alerts or issues; nothing changed.' });
  await setEmailSwitch(ctx.db.pool, Number(session.user.id), which, form.get('on') === '1');
  redirect(res, '/profile?saved=1');
}

/** Turns two-factor log-in off (src/members/two-factor.ts), when the password is right. */
export async function postProfileTwoFactorOff(ctx: AppContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const { session, form } = await postSession(ctx, req);
  if (ctx.config.requireTwoFactor) return render(ctx, res, session, 403, { error: 'This server requires two-factor log-in (REQUIRE_TWO_FACTOR): it stays on.' });
  if (!(await authenticate(ctx.db.pool, session.user.email, form.get('password') ?? ''))) {
    ctx.log.info('two-factor log-in not turned off: wrong password', { user: session.user.id });
    return render(ctx, res, session, 403, { error: 'The password is wrong; two-factor log-in stays on.' });
  }
  await disableTwoFactor(ctx.db.pool, Number(session.user.id));
  ctx.log.info('two-factor log-in turned off', { user: session.user.id });
  await mailSecurityChange(ctx, req, session.user, 'two-factor off');
  redirect(res, '/profile?saved=two-factor-off');
}
