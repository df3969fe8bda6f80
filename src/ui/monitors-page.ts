import type { IncomingMessage, ServerResponse } from 'node:http';
import { listIncidents } from '../alerts/monitors.js';
import { listCheckIns, listMonitors, monitorEnvironments } from '../api/queries/monitors.js';
import { serializeCheckIn, serializeMonitorEnvironment } from '../api/serialize-monitor.js';
import type { AppContext } from '../context.js';
import { pageSession } from './auth.js';
import { html } from './html.js';
import { sendHtml } from './http.js';
import { layout } from './layout.js';
import { projectBySlug } from './project-context.js';

// A project's cron monitors: each environment's status (the API's rules: src/api/serialize-monitor.ts),
// last and next expected check-in, the latest check-ins, and the incidents that alerted
// (src/alerts/monitors.ts). Reads the last 30 days, as the API does by default.

const DAYS = 30;
const CHECK_INS_SHOWN = 10;
const t = (iso: string | null) => (iso ? iso.slice(0, 19).replace('T', ' ') : '-');

export async function getMonitors(ctx: AppContext, req: IncomingMessage, res: ServerResponse, url: URL, slug: string): Promise<void> {
  const session = await pageSession(ctx, req, res, url);
  if (!session) return;
  const project = await projectBySlug(ctx, slug, session, 'project:read');
  const monitors = await listMonitors(ctx.db.pool, project.id);
  const [envs, incidents, checkIns] = await Promise.all([
    monitorEnvironments(ctx.db.pool, monitors, DAYS),
    listIncidents(ctx.db.pool, project.id),
    Promise.all(monitors.map((m) => listCheckIns(ctx.db.pool, { projectId: project.id, slug: m.slug, days: DAYS, limit: CHECK_INS_SHOWN, beforeId: null, afterId: null }))),
  ]);
  const now = Date.now();
  const body = html`<h1>Cron monitors</h1>
<p class="muted">Monitors appear when an SDK sends their first check-in. Alert rules with the trigger "a cron monitor misses a
check-in, fails or times out" are told once per incident (<a href="/projects/${encodeURIComponent(project.slug)}/alerts">Alerts</a>).</p>
${monitors.length ? monitors.map((m, i) => html`<section class="monitor" id="monitor-${m.slug}">
<h2>${m.slug}</h2>
<table class="monitor-envs"><thead><tr><th>Environment</th><th>Status</th><th>Last check-in (UTC)</th><th>Next expected by (UTC)</th></tr></thead><tbody>
${envs.filter((e) => e.slug === m.slug).map((e) => serializeMonitorEnvironment(m, e, now)).map((e) => html`<tr><td>${e.name}</td><td class="status status-${e.status}">${e.status}</td><td class="mono">${t(e.lastCheckIn)}</td><td class="mono">${t(e.nextCheckInLatest)}</td></tr>`)}
</tbody></table>
<h3>Latest check-ins</h3>
<table class="check-ins"><thead><tr><th>Started (UTC)</th><th>Environment</th><th>Status</th><th class="num">Duration</th></tr></thead><tbody>
${checkIns[i]!.rows.map((c) => serializeCheckIn(c, m.config, now)).map((c) => html`<tr><td class="mono">${t(c.dateCreated)}</td><td>${c.environment}</td><td class="status">${c.status}</td><td class="num">${c.duration === null ? '-' : `${(c.duration / 1000).toFixed(1)} s`}</td></tr>`)}
</tbody></table>
</section>`) : html`<p class="muted">No check-ins yet.</p>`}
<h2>Incidents</h2>
${incidents.length ? html`<table id="incidents"><thead><tr><th>Started (UTC)</th><th>Monitor</th><th>What</th><th>Ended (UTC)</th></tr></thead><tbody>
${incidents.map((x) => html`<tr class="incident"><td class="mono">${t(x.started_at.toISOString())}</td><td>${x.monitor_slug}</td><td>${x.detail}</td><td class="mono">${x.resolved_at ? t(x.resolved_at.toISOString()) : 'open'}</td></tr>`)}
</tbody></table>` : html`<p class="muted">None.</p>`}`;
  sendHtml(res, 200, layout({ title: `Monitors · ${project.name}`, session, project, section: 'monitors', body }));
}
