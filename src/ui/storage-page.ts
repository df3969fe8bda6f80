import type { IncomingMessage, ServerResponse } from 'node:http';
import { retentionProblem, setProjectRetention } from '../archive/retention/project-settings.js';
import { projectStorage } from '../archive/retention/size.js';
import type { AppContext } from '../context.js';
import type { ProjectRow } from '../storage/projects.js';
import { pageSession, postSession } from './auth.js';
import { html } from './html.js';
import { redirect, sendHtml } from './http.js';
import { csrfField, layout } from './layout.js';
import { projectBySlug } from './project-context.js';
import type { Session } from './sessions.js';

// A project's storage (events, payload bytes, the oldest kept) and its retention settings (the same
// as PUT /api/0/projects/{org}/{project}/ and crash-cache-cli project update). Counting reads the
// project's archive rows: fine for a page opened now and then.

interface Values { days: string; maxEvents: string }

async function page(ctx: AppContext, session: Session, project: ProjectRow, values: Values, message: { error?: string; saved?: boolean }) {
  const [s] = await projectStorage(ctx.db.pool, project.id);
  const budget = ctx.config.storageMaxBytes;
  return layout({ title: `Storage · ${project.name}`, session, project, section: 'storage', body: html`<h1>Storage</h1>
<table><tbody>
<tr><th>Events</th><td>${String(s?.events ?? 0)}</td></tr>
<tr><th>Payloads (events, sessions, attachments… as received)</th><td>${String(s?.payloads ?? 0)}, ${((s?.payloadBytes ?? 0) / 1e6).toFixed(1)} MB</td></tr>
<tr><th>Total on disk (estimated)</th><td>${((s?.totalBytes ?? 0) / 1e6).toFixed(1)} MB</td></tr>
<tr><th>Oldest kept</th><td>${s?.oldestReceived ? s.oldestReceived.toISOString() : '–'}</td></tr>
<tr><th>Disk budget (all projects)</th><td>${budget === undefined ? 'none' : `${(budget / 1e9).toFixed(2)} GB: past it, the oldest payloads of all projects are deleted first`}</td></tr>
</tbody></table>
<h2>Retention</h2>
${message.error ? html`<p class="error" role="alert">${message.error}</p>` : ''}${message.saved ? html`<p role="status">Saved.</p>` : ''}
<form method="post" action="/projects/${encodeURIComponent(project.slug)}/storage">${csrfField(session)}
<p><label for="days">Days kept</label> <input id="days" name="days" inputmode="numeric" size="6" value="${values.days}" placeholder="${String(ctx.config.retentionDays)}">
<span class="muted">empty: the default, ${String(ctx.config.retentionDays)} days (RETENTION_DAYS)</span></p>
<p><label for="max_events">Events kept per issue</label> <input id="max_events" name="max_events" inputmode="numeric" size="8" value="${values.maxEvents}">
<span class="muted">empty: all; otherwise the first event and the most recent ones (at least 2). Issue counts stay.</span></p>
<p><button type="submit" class="primary">Save</button></p>
</form>` });
}

export async function getStorage(ctx: AppContext, req: IncomingMessage, res: ServerResponse, url: URL, slug: string): Promise<void> {
  const session = await pageSession(ctx, req, res, url);
  if (!session) return;
  const project = await projectBySlug(ctx, slug, session, 'project:write');
  const values = { days: project.retention_days?.toString() ?? '', maxEvents: project.max_events_per_issue?.toString() ?? '' };
  sendHtml(res, 200, await page(ctx, session, project, values, { saved: url.searchParams.has('saved') }));
}

export async function postStorage(ctx: AppContext, req: IncomingMessage, res: ServerResponse, slug: string): Promise<void> {
  const { session, form } = await postSession(ctx, req);
  const project = await projectBySlug(ctx, slug, session, 'project:write');
  const values = { days: (form.get('days') ?? '').trim(), maxEvents: (form.get('max_events') ?? '').trim() };
  const num = (v: string) => (v === '' ? null : /^\d{1,10}$/.test(v) ? Number(v) : NaN);
  const retention = { retentionDays: num(values.days), maxEventsPerIssue: num(values.maxEvents) };
  const error = retentionProblem('retentionDays', retention.retentionDays) ?? retentionProblem('maxEventsPerIssue', retention.maxEventsPerIssue);
  if (error) {
    sendHtml(res, 400, await page(ctx, session, project, values, { error: error.replace('retentionDays', 'Days kept').replace('maxEventsPerIssue', 'Events kept per issue').replace(', or null for the default', ', or empty') }));
    return;
  }
  await setProjectRetention(ctx.db.pool, project.id, retention);
  redirect(res, `/projects/${encodeURIComponent(project.slug)}/storage?saved=1`);
}
