import { snoozeOf } from '../api/snooze.js';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { eventNeighbours, getReport, issueEventAt, listIssueEvents, type ReportRow } from '../api/queries/events.js';
import { getIssue, issueStats, type IssueRow, type IssueStatus } from '../api/queries/issues.js';
import { shortId } from '../api/short-id.js';
import { loadEvent } from '../digest/load-event.js';
import { HttpError } from '../http/errors.js';
import type { AppContext } from '../context.js';
import { pageSession, postSession, uiPrincipal } from './auth.js';
import { canSeeProject, requireScope } from '../auth/access.js';
import { roleHas } from '../auth/scopes.js';
import type { Principal } from '../auth/principal.js';
import { collabSection } from './issue-collab.js';
import { changeIssueStatus } from '../collab/status.js';
import { transaction } from '../storage/transaction.js';
import { sparkline } from './charts.js';
import { eventView } from './event-view.js';
import { html, type Html } from './html.js';
import { redirect, sendHtml } from './http.js';
import { csrfField, layout } from './layout.js';
import { issueGrouping } from './queries.js';
import type { Session } from './sessions.js';
import { tagDistribution } from './tags-view.js';
import { isObj, isoTime, timeEl, type Obj } from './values.js';
import { fingerprintSection } from './merge-view.js';

// One issue: what it is, how often and since when, the buttons to resolve/ignore/reopen it, its tag
// distributions, and one of its events (the latest unless another is chosen) with links to the
// previous and next event of the same issue.

/** The issue, or 404 when it does not exist or its project is not one the user is a member of. */
async function issueOr404(ctx: AppContext, id: string, who: Principal): Promise<IssueRow> {
  const issue = /^\d{1,18}$/.test(id) ? await getIssue(ctx.db.pool, id) : null;
  if (!issue || !canSeeProject(who, issue.project_id)) throw new HttpError('not_found', `no issue ${id}`);
  return issue;
}

function statusForms(issue: IssueRow, session: Session): Html {
  // viewers see the status, not the buttons (a POST would be refused anyway)
  if (!roleHas(session.user.role, 'event:write')) return html``;
  const button = (status: IssueStatus, label: string, primary = false, minutes = 0, next = false) =>
    html`<form method="post" action="/issues/${issue.id}/status">${csrfField(session)}<input type="hidden" name="status" value="${status}">${minutes ? html`<input type="hidden" name="minutes" value="${String(minutes)}">` : ''}${next ? html`<input type="hidden" name="in" value="next">` : ''}<button type="submit"${primary ? html` class="primary"` : ''}>${label}</button></form>`;
  const forms: Html[] = [];
  if (issue.status !== 'resolved') forms.push(button('resolved', 'Resolve', true));
  if (issue.status !== 'resolved' || issue.resolved_next === null) forms.push(button('resolved', 'Resolve in next release', false, 0, true));
  if (issue.status !== 'ignored') forms.push(button('ignored', 'Ignore'), button('ignored', 'Ignore for 1 hour', false, 60), button('ignored', 'Ignore for 24 hours', false, 1440));
  if (issue.status !== 'unresolved') forms.push(button('unresolved', 'Unresolve'));
  return html`<div class="actions">${forms}</div>`;
}

function statusText(issue: IssueRow): Html {
  const s = issue.status === 'unresolved' && issue.substatus === 'regressed' ? 'regressed' : issue.status;
  const until = issue.status === 'ignored' && typeof issue.snooze_details?.ignoreUntil === 'string' ? new Date(issue.snooze_details.ignoreUntil) : null;
  const more = issue.status === 'ignored' && typeof issue.snooze_details?.ignoreCount === 'number' ? issue.snooze_details.ignoreCount : null;
  const release = issue.status !== 'resolved' || issue.resolved_next === null ? ''
    : issue.resolved_next ? (issue.resolved_in_release ? ` in the release after ${issue.resolved_in_release}` : ' in the next release') : ` in release ${issue.resolved_in_release}`;
  return html`<span class="status status-${s}" id="issue-status">${s}</span>${release ? html` <span id="resolved-in">${release}</span>` : ''}${issue.status === 'resolved' && issue.resolved_at ? html` <span class="muted">since ${isoTime(issue.resolved_at)}</span>` : ''}${until ? html` <span class="muted">until ${isoTime(until)}</span>` : ''}${more !== null ? html` <span class="muted">until ${String(more)} more events</span>` : ''}`;
}

function eventNav(issue: IssueRow, report: ReportRow, nb: { previous: string | null; next: string | null }): Html {
  const link = (id: string | null, label: string, rel: string) =>
    id ? html`<a href="/issues/${issue.id}/events/${id}" rel="${rel}">${label}</a>` : html`<span class="disabled">${label}</span>`;
  return html`<nav class="nav-events" aria-label="events of this issue">
  ${link(nb.previous, '← Older event', 'prev')}
  <span class="mono">${report.event_id}</span>
  ${link(nb.next, 'Newer event →', 'next')}
  ${nb.next ? html`<a href="/issues/${issue.id}">Latest</a>` : ''}
</nav>`;
}

const RECENT_EVENTS = 10;

function recentEvents(issue: IssueRow, rows: ReportRow[], shown: string | null): Html {
  if (rows.length < 2) return html``;
  return html`<details class="snippet"><summary>Latest ${rows.length} events</summary>
<table><thead><tr><th>Received</th><th>Event</th><th>Message</th><th>Release</th><th>Environment</th><th>User</th></tr></thead><tbody>${rows.map(
    (r) => html`<tr><td>${timeEl(r.received_at)}</td><td class="mono">${r.event_id === shown ? html`${r.event_id.slice(0, 12)} (shown)` : html`<a href="/issues/${issue.id}/events/${r.event_id}">${r.event_id.slice(0, 12)}</a>`}</td><td>${r.exception_value ?? r.message ?? ''}</td><td class="mono">${r.release ?? ''}</td><td>${r.environment ?? ''}</td><td>${r.user_key ?? ''}</td></tr>`,
  )}</tbody></table></details>`;
}

export async function getIssuePage(ctx: AppContext, req: IncomingMessage, res: ServerResponse, url: URL, id: string, eventId?: string): Promise<void> {
  const session = await pageSession(ctx, req, res, url);
  if (!session) return;
  const principal = await uiPrincipal(ctx, session);
  const issue = await issueOr404(ctx, id, principal);
  const pool = ctx.db.pool;
  const report = eventId ? await getReport(pool, issue.project_id, eventId) : await issueEventAt(pool, issue.project_id, issue.id, 'latest');
  if (eventId && (!report || report.issue_id !== issue.id)) throw new HttpError('not_found', `no event ${eventId} in issue ${issue.id}`);
  const [hourly, daily, tags, nb, ev, groupingRow, recent, collab] = await Promise.all([
    issueStats(pool, [issue], 3600, 24),
    issueStats(pool, [issue], 86400, 30),
    tagDistribution(pool, issue),
    report ? eventNeighbours(pool, report) : Promise.resolve({ previous: null, next: null }),
    // a payload that no longer parses must not take the whole page down: say so where the event would be
    report ? loadEvent(pool, issue.project_id, report.event_id).catch((e: Error) => (ctx.log.warn('event payload unreadable', { issue: issue.id, error: e.message }), null)) : Promise.resolve(null),
    issueGrouping(pool, issue.project_id, issue.id),
    listIssueEvents(pool, issue.project_id, issue.id, RECENT_EVENTS, null),
    collabSection(ctx, issue, session, principal),
  ]);
  const h = (hourly.get(issue.id) ?? []).map(([, n]) => n);
  const d = (daily.get(issue.id) ?? []).map(([, n]) => n);
  const project = { slug: issue.project_slug, name: issue.project_name };
  const fingerprints = await fingerprintSection(ctx, session, issue);
  const body = html`<p class="muted"><a href="/projects/${encodeURIComponent(issue.project_slug)}/issues">${issue.project_name}</a> · <span class="mono">${shortId(issue.project_slug, issue.short_id)}</span></p>
<h1 id="issue-title">${issue.title}</h1>
${issue.culprit ? html`<p class="mono" id="issue-culprit">${issue.culprit}</p>` : ''}
<dl class="meta">
  <dt>Status</dt><dd>${statusText(issue)}</dd>
  <dt>Level</dt><dd class="level level-${issue.level}">${issue.level}</dd>
  <dt>Events</dt><dd>${issue.event_count.toLocaleString('en')}</dd>
  <dt>Users</dt><dd>${issue.user_count.toLocaleString('en')}</dd>
  <dt>First seen</dt><dd>${timeEl(issue.first_seen)} <span class="muted">(${isoTime(issue.first_seen)})</span></dd>
  <dt>Last seen</dt><dd>${timeEl(issue.last_seen)} <span class="muted">(${isoTime(issue.last_seen)})</span></dd>
  <dt>Last 24 hours</dt><dd>${sparkline(h, { width: 240, height: 32, label: `${h.reduce((a, b) => a + b, 0)} events in the last 24 hours` })}</dd>
  <dt>Last 30 days</dt><dd>${sparkline(d, { width: 240, height: 32, label: `${d.reduce((a, b) => a + b, 0)} events in the last 30 days` })}</dd>
  ${collab.meta}
</dl>
${statusForms(issue, session)}
${collab.activity}
<h2>Tags</h2>
${tags}
${fingerprints}
${recentEvents(issue, recent.rows, report?.event_id ?? null)}
${report && ev && isObj(ev)
  ? html`<h2>Event</h2>${eventNav(issue, report, nb)}${eventView(ev as Obj, { grouping: groupingRow })}`
  : report
    ? html`<h2>Event</h2>${eventNav(issue, report, nb)}<p class="error">The stored payload of this event could not be read.</p>`
    : html`<p class="empty">No events stored for this issue.</p>`}`;
  sendHtml(res, 200, layout({ title: `${issue.title}`, session, project, section: 'issues', body }));
}

export async function postIssueStatus(ctx: AppContext, req: IncomingMessage, res: ServerResponse, id: string): Promise<void> {
  const { session, form } = await postSession(ctx, req);
  const principal = await uiPrincipal(ctx, session);
  requireScope(principal, 'event:write');
  const issue = await issueOr404(ctx, id, principal);
  const status = form.get('status');
  if (status !== 'resolved' && status !== 'ignored' && status !== 'unresolved') throw new HttpError('invalid_request', 'status must be resolved, ignored or unresolved');
  const minutes = Number(form.get('minutes') ?? 0);
  const snooze = status === 'ignored' && Number.isInteger(minutes) && minutes > 0 && minutes <= 525_600 ? snoozeOf({ ignoreDuration: minutes }) : null;
  const within = form.get('in');
  if (within !== null && within !== 'next') throw new HttpError('invalid_request', 'in must be next (resolve in the next release)');
  const resolution = status === 'resolved' && within === 'next' ? { kind: 'next' as const } : null;
  // the change and its activity entry in one transaction
  await transaction(ctx.db.pool, (client) => changeIssueStatus(client, [issue.id], { status, snooze, resolution }, principal.userId));
  redirect(res, `/issues/${issue.id}`);
}
