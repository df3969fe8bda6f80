import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AppContext } from '../context.js';
import { HttpError } from '../http/errors.js';
import { canSeeProject, hasScope, requireScope } from '../auth/access.js';
import type { Principal } from '../auth/principal.js';
import { ROLES } from '../auth/scopes.js';
import { listProjects, type ProjectRow } from '../storage/projects.js';
import { changeRole, getMember, listMembers, parseRole, projectIdsOf, removeMember, setMemberProjects, type Member } from '../members/members.js';
import { checkTwoFactorOff } from '../members/rules.js';
import { disableTwoFactor } from '../members/two-factor.js';
import { mailSecurityChange } from '../members/security-mail.js';
import { createInvite, inviteLink, listOpenInvites, withdrawInvite, type InviteRow } from '../members/invites.js';
import { mailInvite } from '../members/invite-mail.js';
import { pageSession, postSession, uiPrincipal } from './auth.js';
import { html, type Html } from './html.js';
import { redirect, sendHtml } from './http.js';
import { csrfField, layout } from './layout.js';
import type { Session } from './sessions.js';

// The Members page: users with their role and projects, open invites, and — for whoever holds
// member:write — the invite form, role and project changes, and (member:admin) removal. The rules on
// who may touch which role are src/members/rules.ts; a refusal is a 403 page and changes nothing.
// A new invite's link is shown once, on the page that answers the invite form.

interface Message {
  error?: string;
  notice?: Html | string;
}

const fmt = (d: Date | null) => (d ? d.toISOString().slice(0, 16).replace('T', ' ') : '—');

function projectsCell(allProjects: boolean, ids: readonly number[], names: Map<number, string>): Html | string {
  if (allProjects) return 'all projects';
  const shown = ids.map((id) => names.get(Number(id))).filter((n): n is string => n !== undefined);
  const hidden = ids.length - shown.length;
  if (!ids.length) return html`<span class="muted">none</span>`;
  return [...shown, ...(hidden ? [`${hidden} other${hidden === 1 ? '' : 's'}`] : [])].join(', ');
}

function accessFields(projects: ProjectRow[], prefix: string, allProjects: boolean, ids: readonly number[]): Html {
  return html`<label><input type="radio" name="access" value="all" id="${prefix}-all"${allProjects ? html` checked` : ''}> Every project</label>
<label><input type="radio" name="access" value="some" id="${prefix}-some"${allProjects ? '' : html` checked`}> Only these projects (members and viewers; owners and admins see every project):</label>
${projects.map((p) => html`<label><input type="checkbox" name="project" value="${p.id}"${ids.includes(Number(p.id)) ? html` checked` : ''}> ${p.name}</label>`)}`;
}

function page(session: Session, who: Principal, members: Member[], invites: InviteRow[], projects: ProjectRow[], msg: Message): Html {
  const names = new Map(projects.map((p) => [Number(p.id), p.name]));
  const write = hasScope(who, 'member:write');
  const admin = hasScope(who, 'member:admin');
  const roleSelect = (current: string, id: string) => html`<select name="role" id="${id}" aria-label="Role">${ROLES.map((r) => html`<option value="${r}"${r === current ? html` selected` : ''}>${r}</option>`)}</select>`;
  return layout({ title: 'Members', session, section: 'members', body: html`<h1>Members</h1>
${msg.error ? html`<p class="error" role="alert">${msg.error}</p>` : ''}${msg.notice ? html`<div class="notice" role="status" id="members-notice">${msg.notice}</div>` : ''}
<p class="muted">Owners do everything, admins manage projects, members and tokens, members triage issues, viewers read. Only owners grant, change or remove the admin and owner roles; the last owner stays.</p>
<table id="members"><thead><tr><th>E-mail</th><th>Role</th><th>Projects</th><th>Joined (UTC)</th><th>Last login</th>${write ? html`<th></th>` : ''}</tr></thead><tbody>
${members.map((m) => html`<tr class="member" data-id="${m.id}" data-email="${m.email}"><td>${m.email}${m.id === who.userId ? html` <span class="muted">(you)</span>` : ''}${m.has_2fa ? html` <span class="muted two-factor" title="logs in with a second factor">2FA</span>` : ''}</td><td class="role">${m.role}</td>
<td class="projects">${projectsCell(m.all_projects, m.project_ids, names)}</td><td class="mono">${fmt(m.created_at)}</td><td class="mono">${fmt(m.last_login)}</td>
${write ? html`<td><form method="post" action="/members/${m.id}/role" class="inline">${csrfField(session)}${roleSelect(m.role, `role-${m.id}`)} <button type="submit">Change role</button></form>
${admin ? html`<form method="post" action="/members/${m.id}/remove" class="inline">${csrfField(session)}<button type="submit">Remove</button></form>` : ''}
${admin && m.has_2fa ? html`<form method="post" action="/members/${m.id}/two-factor-off" class="inline" data-confirm="Turn off two-factor log-in for ${m.email}? Their password alone will log them in; they are told by e-mail.">${csrfField(session)}<button type="submit">Turn off 2FA</button></form>` : ''}
<details><summary>Projects</summary><form method="post" action="/members/${m.id}/projects">${csrfField(session)}${accessFields(projects, `p${m.id}`, m.all_projects, m.project_ids)}<button type="submit">Save projects</button></form></details></td>` : ''}</tr>`)}
</tbody></table>
<h2>Invites</h2>
${invites.length ? html`<table id="invites"><thead><tr><th>E-mail</th><th>Role</th><th>Projects</th><th>Invited by</th><th>Expires (UTC)</th>${admin ? html`<th></th>` : ''}</tr></thead><tbody>
${invites.map((i) => html`<tr class="invite" data-id="${i.id}"><td>${i.email}</td><td>${i.role}</td><td>${projectsCell(i.project_ids === null, i.project_ids ?? [], names)}</td><td>${i.inviter_email ?? '—'}</td>
<td class="mono">${fmt(i.expires_at)}${i.expired ? html` <span class="error">expired</span>` : ''}</td>
${admin ? html`<td><form method="post" action="/members/${i.id}/withdraw" class="inline">${csrfField(session)}<button type="submit">Withdraw</button></form></td>` : ''}</tr>`)}
</tbody></table>` : html`<p class="muted">No open invites.</p>`}
${write ? html`<h2>Invite someone</h2>
<form method="post" action="/members/invite" id="invite">${csrfField(session)}
<label for="invite-email">E-mail</label><input id="invite-email" name="email" type="email" required maxlength="254" size="40">
<label for="invite-role">Role</label>${roleSelect('member', 'invite-role')}
<fieldset><legend>Projects</legend>${accessFields(projects, 'invite', true, [])}</fieldset>
<p><button type="submit" class="primary">Create invite link</button></p>
</form>` : ''}` });
}

async function render(ctx: AppContext, res: ServerResponse, session: Session, who: Principal, status: number, msg: Message): Promise<void> {
  const [members, invites, all] = await Promise.all([listMembers(ctx.db.pool), listOpenInvites(ctx.db.pool), listProjects(ctx.db.pool)]);
  // a member limited to some projects is not told the names of the others
  const projects = all.filter((p) => canSeeProject(who, p.id));
  sendHtml(res, status, page(session, who, members, invites, projects, msg));
}

export async function getMembers(ctx: AppContext, req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
  const session = await pageSession(ctx, req, res, url);
  if (!session) return;
  const who = await uiPrincipal(ctx, session);
  requireScope(who, 'member:read');
  await render(ctx, res, session, who, 200, url.searchParams.has('saved') ? { notice: 'Saved.' } : {});
}

/** The access radio and project checkboxes → null (every project) or project ids (an unknown one is a 400). */
async function accessOf(ctx: AppContext, form: URLSearchParams): Promise<number[] | null> {
  if (form.get('access') !== 'some') return null;
  const ids = form.getAll('project');
  if (!ids.length) throw new HttpError('invalid_request', 'choose at least one project, or "Every project"');
  if (ids.some((v) => !/^\d{1,15}$/.test(v))) throw new HttpError('invalid_request', 'projects are given by id');
  return projectIdsOf(ctx.db.pool, ids);
}

function idOf(v: string): number {
  if (!/^\d{1,15}$/.test(v)) throw new HttpError('not_found', `no member ${v}`);
  return Number(v);
}

async function postAs(ctx: AppContext, req: IncomingMessage, scope: 'member:write' | 'member:admin') {
  const { session, form } = await postSession(ctx, req);
  const who = await uiPrincipal(ctx, session);
  requireScope(who, scope);
  return { session, form, who };
}

export async function postInvite(ctx: AppContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const { session, form, who } = await postAs(ctx, req, 'member:write');
  const role = parseRole(form.get('role') ?? 'member');
  const { invite, token } = await createInvite(ctx.db.pool, ctx.config, who, { email: form.get('email') ?? '', role, projectIds: await accessOf(ctx, form) });
  const link = inviteLink(ctx.config, token);
  const mail = await mailInvite(ctx, invite, token, session.user.email);
  const mailNote = mail === null ? 'No mail server is configured (SMTP_URL): send the link yourself.'
    : mail.ok ? `It was e-mailed to ${invite.email}.` : `E-mailing it failed (${mail.reply}): send the link yourself.`;
  await render(ctx, res, session, who, 200, { notice: html`<p>Invite for ${invite.email} (${invite.role}) created. Its link works once, until ${fmt(invite.expires_at)} UTC, and is shown only now:</p>
<p><code id="invite-link" data-copy>${link}</code></p><p id="invite-mail">${mailNote}</p>` });
}

export async function postMemberRole(ctx: AppContext, req: IncomingMessage, res: ServerResponse, id: string): Promise<void> {
  const { form, who } = await postAs(ctx, req, 'member:write');
  await changeRole(ctx.db.pool, who, idOf(id), parseRole(form.get('role')));
  redirect(res, '/members?saved=1');
}

export async function postMemberProjects(ctx: AppContext, req: IncomingMessage, res: ServerResponse, id: string): Promise<void> {
  const { form, who } = await postAs(ctx, req, 'member:write');
  await setMemberProjects(ctx.db.pool, who, idOf(id), await accessOf(ctx, form));
  redirect(res, '/members?saved=1');
}

export async function postMemberRemove(ctx: AppContext, req: IncomingMessage, res: ServerResponse, id: string): Promise<void> {
  const { who } = await postAs(ctx, req, 'member:admin');
  await removeMember(ctx.db.pool, who, idOf(id));
  redirect(res, '/members?saved=1');
}

/** Turns a member's two-factor log-in off (a lost phone, no recovery code left); they are told by e-mail. */
export async function postMemberTwoFactorOff(ctx: AppContext, req: IncomingMessage, res: ServerResponse, id: string): Promise<void> {
  const { who } = await postAs(ctx, req, 'member:admin');
  const target = await getMember(ctx.db.pool, idOf(id));
  if (!target) throw new HttpError('not_found', `no member ${id}`);
  checkTwoFactorOff(who, target);
  if (await disableTwoFactor(ctx.db.pool, target.id)) {
    ctx.log.info('two-factor log-in turned off by an administrator', { user: target.id, by: who.userId });
    await mailSecurityChange(ctx, req, target, 'two-factor off');
  }
  redirect(res, '/members?saved=1');
}

export async function postInviteWithdraw(ctx: AppContext, req: IncomingMessage, res: ServerResponse, id: string): Promise<void> {
  const { who } = await postAs(ctx, req, 'member:admin');
  await withdrawInvite(ctx.db.pool, who, idOf(id));
  redirect(res, '/members?saved=1');
}
