import type { IncomingMessage, ServerResponse } from 'node:http';
import { listDeliveries, type DeliveryRow } from '../alerts/deliveries.js';
import { addRule, CHANNELS, emailOptedOut, listAlertRules, removeAlertRule, setEmailOptOut, type AlertRule, type Channel, type RuleInput } from '../alerts/rules.js';
import { ALERT_KINDS, LEVELS, type AlertKind } from '../alerts/queue.js';
import { sendTestAlert } from '../alerts/sender.js';
import { HttpError } from '../http/errors.js';
import type { AppContext } from '../context.js';
import type { ProjectRow } from '../storage/projects.js';
import { pageSession, postSession } from './auth.js';
import { html } from './html.js';
import { redirect, sendHtml } from './http.js';
import { csrfField, layout } from './layout.js';
import { projectBySlug } from './project-context.js';
import type { Session } from './sessions.js';

// A project's alert rules in the web UI: the rules (with a test-send button each), a form for a new
// rule (the same checks as the CLI and the API: rules.ts), the latest deliveries with status, attempts
// and last error, and the viewer's own switch for this project's e-mail. Webhook URLs are shown
// without their secret part (never sent back to the browser in full).

const KIND_LABEL: Record<AlertKind, string> = {
  new: 'a new issue is created',
  regression: 'a resolved issue regresses',
  escalating: 'an ignored issue comes back',
  frequency: 'an issue has more than N events in M minutes',
  users: 'an issue has more than N new users in M minutes',
  monitor: 'a cron monitor misses a check-in, fails or times out',
};
const CHANNEL_LABEL: Record<Channel, string> = { email: 'E-mail', slack: 'Slack', discord: 'Discord', teams: 'Microsoft Teams', webhook: 'Webhook (JSON)' };

interface Message {
  error?: string;
  notice?: string;
}

function when(r: AlertRule): string {
  const trig = r.kinds.map((k) => (k === 'frequency' ? `more than ${r.event_threshold} events in ${r.event_window_minutes} min`
    : k === 'users' ? `more than ${r.user_threshold} new users in ${r.user_window_minutes} min` : KIND_LABEL[k])).join('; or ');
  const filters = [r.filter_level ? `level ≥ ${r.filter_level}` : '', ...Object.entries(r.filter_tags).map(([k, v]) => `${k} = ${v}`)].filter(Boolean);
  return `${trig}${filters.length ? ` — if ${filters.join(', ')}` : ''}; at most once per issue every ${r.action_interval_minutes} min`;
}

function page(session: Session, project: ProjectRow, rules: AlertRule[], deliveries: DeliveryRow[], optedOut: boolean, msg: Message) {
  const base = `/projects/${encodeURIComponent(project.slug)}/alerts`;
  return layout({ title: `Alerts · ${project.name}`, session, project, section: 'alerts', body: html`<h1>Alerts</h1>
${msg.error ? html`<p class="error" role="alert">${msg.error}</p>` : ''}${msg.notice ? html`<p class="notice" role="status" id="alert-notice">${msg.notice}</p>` : ''}
<h2>Rules</h2>
${rules.length ? html`<table id="rules"><thead><tr><th>Name</th><th>Channel</th><th>To</th><th>When</th><th></th></tr></thead><tbody>
${rules.map((r) => html`<tr class="rule" data-id="${r.id}"><td>${r.name || `Alert ${r.id}`}</td><td>${CHANNEL_LABEL[r.channel]}</td><td class="mono">${r.target}</td><td>${when(r)}</td>
<td><form method="post" action="${base}/${r.id}/test" class="inline">${csrfField(session)}<button type="submit">Send test</button></form>
<form method="post" action="${base}/${r.id}/delete" class="inline">${csrfField(session)}<button type="submit">Delete</button></form></td></tr>`)}
</tbody></table>` : html`<p class="muted">No rules yet.</p>`}
<h2>New rule</h2>
<form method="post" action="${base}" id="new-rule">${csrfField(session)}
<label for="name">Name</label><input id="name" name="name" maxlength="200" size="40">
<label for="channel">Channel</label><select id="channel" name="channel">${CHANNELS.map((c) => html`<option value="${c}">${CHANNEL_LABEL[c]}</option>`)}</select>
<label for="target">E-mail addresses (comma-separated) or the webhook URL</label><input id="target" name="target" size="80" maxlength="2000">
<label><input type="checkbox" name="members" value="1" id="members"> E-mail every project member (UI users who have not turned it off)</label>
<fieldset><legend>When (any of)</legend>
${ALERT_KINDS.map((k) => html`<label><input type="checkbox" name="kind" value="${k}" id="kind-${k}"${k === 'new' ? html` checked` : ''}> ${KIND_LABEL[k]}</label>`)}
<label for="events">N events, in M minutes</label><input id="events" name="events" inputmode="numeric" size="8" placeholder="100"> <input id="events_window" name="events_window" inputmode="numeric" size="6" placeholder="60">
<label for="users">N new users, in M minutes</label><input id="users" name="users" inputmode="numeric" size="8" placeholder="10"> <input id="users_window" name="users_window" inputmode="numeric" size="6" placeholder="60">
</fieldset>
<fieldset><legend>If (all of)</legend>
<label for="level">Level at least</label><select id="level" name="level"><option value="">any</option>${LEVELS.map((l) => html`<option value="${l}">${l}</option>`)}</select>
<label for="environment">Environment</label><input id="environment" name="environment" maxlength="200">
<label for="release">Release</label><input id="release" name="release" maxlength="200">
</fieldset>
<label for="interval">At most one notification per issue every (minutes)</label><input id="interval" name="interval" value="30" inputmode="numeric" size="6">
<p><button type="submit" class="primary">Create rule</button></p>
</form>
<h2>Your e-mail</h2>
<form method="post" action="${base}/email" id="my-email">${csrfField(session)}
<p>${optedOut ? 'You do not get this project\'s e-mail alerts sent to project members.' : 'You get this project\'s e-mail alerts sent to project members.'}
<input type="hidden" name="off" value="${optedOut ? '0' : '1'}"> <button type="submit">${optedOut ? 'Turn them on' : 'Turn them off'}</button></p>
</form>
<h2>Deliveries</h2>
${deliveries.length ? html`<table id="deliveries"><thead><tr><th>Created (UTC)</th><th>Rule</th><th>Why</th><th>Issue</th><th>Channel</th><th>Status</th><th class="num">Attempts</th><th>Last error</th></tr></thead><tbody>
${deliveries.map((d) => html`<tr class="delivery status-${d.status}"><td class="mono">${d.created_at.toISOString().slice(0, 19).replace('T', ' ')}</td><td>${d.rule_id}</td><td>${d.kind}${d.detail ? html`: ${d.detail}` : ''}</td>
<td>${d.issue_id === null ? '-' : html`<a href="/issues/${d.issue_id}">${d.issue_id}</a>`}</td><td>${d.channel} <span class="muted mono">${d.target}</span></td>
<td class="status">${d.status}</td><td class="num">${d.attempts}</td><td class="mono">${d.last_error ?? ''}${d.status === 'pending' ? html` <span class="muted">(next try ${d.run_after.toISOString().slice(11, 19)})</span>` : ''}</td></tr>`)}
</tbody></table>` : html`<p class="muted">Nothing sent yet.</p>`}` });
}

async function render(ctx: AppContext, res: ServerResponse, session: Session, project: ProjectRow, status: number, msg: Message): Promise<void> {
  const [rules, deliveries, off] = await Promise.all([
    listAlertRules(ctx.db.pool, project.id), listDeliveries(ctx.db.pool, { projectId: project.id, limit: 50 }), emailOptedOut(ctx.db.pool, Number(session.user.id), project.id)]);
  sendHtml(res, status, page(session, project, rules, deliveries, off, msg));
}

export async function getAlerts(ctx: AppContext, req: IncomingMessage, res: ServerResponse, url: URL, slug: string): Promise<void> {
  const session = await pageSession(ctx, req, res, url);
  if (!session) return;
  const project = await projectBySlug(ctx, slug, session, 'project:write');
  await render(ctx, res, session, project, 200, url.searchParams.has('saved') ? { notice: 'Saved.' } : {});
}

const num = (v: string | null): number | null => (v?.trim() ? (/^\d{1,10}$/.test(v.trim()) ? Number(v.trim()) : NaN) : null);

/** The new-rule form → a rule; the checks are rules.ts's. */
export function ruleFromForm(form: URLSearchParams): RuleInput {
  const channel = form.get('channel') as Channel;
  const target = (form.get('target') ?? '').trim();
  const tags: Record<string, string> = {};
  if (form.get('environment')?.trim()) tags.environment = form.get('environment')!.trim();
  if (form.get('release')?.trim()) tags.release = form.get('release')!.trim();
  const kinds = form.getAll('kind') as AlertKind[];
  const interval = num(form.get('interval'));
  return {
    name: form.get('name') ?? '',
    channel,
    webhookUrl: channel === 'email' ? undefined : target,
    emailTo: channel === 'email' ? target.split(',').map((x) => x.trim()).filter(Boolean) : [],
    emailMembers: channel === 'email' && form.get('members') === '1',
    kinds,
    eventThreshold: kinds.includes('frequency') ? num(form.get('events')) : null,
    eventWindowMinutes: kinds.includes('frequency') ? num(form.get('events_window')) ?? 60 : null,
    userThreshold: kinds.includes('users') ? num(form.get('users')) : null,
    userWindowMinutes: kinds.includes('users') ? num(form.get('users_window')) ?? 60 : null,
    filterLevel: form.get('level') || null,
    filterTags: tags,
    actionIntervalMinutes: interval ?? 30,
  };
}

export async function postAlert(ctx: AppContext, req: IncomingMessage, res: ServerResponse, slug: string): Promise<void> {
  const { session, form } = await postSession(ctx, req);
  const project = await projectBySlug(ctx, slug, session, 'project:write');
  try {
    await addRule(ctx.db.pool, project.id, ruleFromForm(form));
  } catch (e) {
    return render(ctx, res, session, project, 400, { error: (e as Error).message });
  }
  redirect(res, `/projects/${encodeURIComponent(project.slug)}/alerts?saved=1`);
}

async function ruleOfProject(ctx: AppContext, project: ProjectRow, id: string): Promise<number> {
  const rules = await listAlertRules(ctx.db.pool, project.id);
  const rule = /^\d{1,15}$/.test(id) ? rules.find((r) => r.id === Number(id)) : undefined;
  if (!rule) throw new HttpError('not_found', `no alert rule ${id} in this project`);
  return rule.id;
}

export async function postAlertTest(ctx: AppContext, req: IncomingMessage, res: ServerResponse, slug: string, id: string): Promise<void> {
  const { session } = await postSession(ctx, req);
  const project = await projectBySlug(ctx, slug, session, 'project:write');
  const r = (await sendTestAlert(ctx.db.pool, ctx.config, await ruleOfProject(ctx, project, id)))!;
  await render(ctx, res, session, project, 200, r.ok ? { notice: `Test notification delivered: ${r.answer ?? 'ok'}` } : { error: `Test notification failed: ${r.error}` });
}

export async function postAlertDelete(ctx: AppContext, req: IncomingMessage, res: ServerResponse, slug: string, id: string): Promise<void> {
  const { session } = await postSession(ctx, req);
  const project = await projectBySlug(ctx, slug, session, 'project:write');
  await removeAlertRule(ctx.db.pool, await ruleOfProject(ctx, project, id));
  redirect(res, `/projects/${encodeURIComponent(project.slug)}/alerts?saved=1`);
}

export async function postAlertEmail(ctx: AppContext, req: IncomingMessage, res: ServerResponse, slug: string): Promise<void> {
  const { session, form } = await postSession(ctx, req);
  const project = await projectBySlug(ctx, slug, session, 'project:write');
  await setEmailOptOut(ctx.db.pool, Number(session.user.id), project.id, form.get('off') === '1');
  redirect(res, `/projects/${encodeURIComponent(project.slug)}/alerts?saved=1`);
}
