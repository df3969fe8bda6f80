import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AppContext } from '../context.js';
import { pageSession } from './auth.js';
import { percentLine } from './charts.js';
import { html, qs } from './html.js';
import { sendHtml } from './http.js';
import { layout } from './layout.js';
import { PERIODS, periodOf, projectBySlug } from './project-context.js';
import { releaseHealth } from '../digest/health-query.js';
import { releaseEventCounts, releaseHealthSeries, type HealthPoint } from './release-queries.js';
import { timeEl } from './values.js';

// Releases with crash-free sessions and users over time (from release-health sessions) and the
// events and issues seen in each release.

function pct(n: number | null): string {
  return n === null ? '—' : `${n >= 99.995 ? '100' : n.toFixed(n >= 99 ? 2 : 1)}%`;
}

export async function getReleases(ctx: AppContext, req: IncomingMessage, res: ServerResponse, url: URL, slug: string): Promise<void> {
  const session = await pageSession(ctx, req, res, url);
  if (!session) return;
  const project = await projectBySlug(ctx, slug, session, 'project:read');
  const period = periodOf(url, '14d');
  const bucketSecs = period.hours <= 48 ? 3600 : 86400;
  const now = Date.now();
  const first = Math.floor((now - period.hours * 3600_000) / 1000 / bucketSecs) * bucketSecs;
  const since = new Date(first * 1000);
  const [series, health, eventCounts] = await Promise.all([
    releaseHealthSeries(ctx.db.pool, project.id, since, bucketSecs),
    releaseHealth(ctx.db.pool, [project.id], { since }),
    releaseEventCounts(ctx.db.pool, project.id),
  ]);
  const totals = new Map(health.map((h) => [h.release, h]));
  const buckets: number[] = [];
  for (let t = first; t * 1000 <= now; t += bucketSecs) buckets.push(t);
  const byRelease = new Map<string, HealthPoint[]>();
  for (const p of series) byRelease.set(p.release, [...(byRelease.get(p.release) ?? []), p]);
  const names = [...new Set([...totals.keys(), ...byRelease.keys(), ...eventCounts.keys()])];
  const lastActivity = (r: string) => Math.max(...(byRelease.get(r) ?? []).map((p) => p.bucket.getTime()), eventCounts.get(r)?.lastSeen.getTime() ?? 0);
  names.sort((a, b) => lastActivity(b) - lastActivity(a) || b.localeCompare(a));
  const rows = names.map((name) => {
    const pts = byRelease.get(name) ?? [];
    const at = new Map(pts.map((p) => [Math.floor(p.bucket.getTime() / 1000), p]));
    // totals over the whole period from the digest's release-health query (the API serves the same)
    const t = totals.get(name);
    return {
      name,
      sessions: t?.sessions ?? 0,
      crashed: t?.crashed ?? 0,
      errored: t?.errored ?? 0,
      users: t?.users ?? 0,
      crashFreeSessions: t?.crashFreeSessions ?? null,
      crashFreeUsers: t?.crashFreeUsers ?? null,
      sessionLine: buckets.map((b) => {
        const p = at.get(b);
        return p?.sessions ? 100 * (1 - p.crashed / p.sessions) : null;
      }),
      userLine: buckets.map((b) => {
        const p = at.get(b);
        return p?.users ? 100 * (1 - p.crashedUsers / p.users) : null;
      }),
      events: eventCounts.get(name),
    };
  });
  const issuesLink = (release: string) => `/projects/${encodeURIComponent(project.slug)}/issues${qs({ release, status: 'all' })}`;
  const body = html`<h1>Releases</h1>
<form class="filters" method="get">
  <div><label for="period">Period</label><select id="period" name="period" data-autosubmit>${Object.keys(PERIODS).map((k) => html`<option value="${k}"${k === period.key ? html` selected` : ''}>last ${k}</option>`)}</select></div>
  <div><button type="submit">Show</button></div>
</form>
${rows.length === 0
  ? html`<p class="empty">No releases yet. Set <code>release</code> in your SDK's init; sessions and events then show up here.</p>`
  : html`<table>
<thead><tr><th>Release</th><th class="num">Crash-free sessions</th><th>over ${period.key} (${bucketSecs === 3600 ? 'hourly' : 'daily'})</th><th class="num">Crash-free users</th><th>over ${period.key}</th><th class="num">Sessions</th><th class="num">Crashed</th><th class="num">Errored</th><th class="num">Users</th><th class="num">Events</th><th class="num">Issues</th><th>Last event</th></tr></thead>
<tbody>${rows.map(
  (r) => html`<tr class="release-row">
  <td class="mono">${r.name}</td>
  <td class="num"><strong>${pct(r.crashFreeSessions)}</strong></td>
  <td>${percentLine(r.sessionLine, { width: 160, height: 32, label: `crash-free sessions of ${r.name}` })}</td>
  <td class="num"><strong>${pct(r.crashFreeUsers)}</strong></td>
  <td>${percentLine(r.userLine, { width: 160, height: 32, label: `crash-free users of ${r.name}` })}</td>
  <td class="num">${r.sessions.toLocaleString('en')}</td>
  <td class="num">${r.crashed.toLocaleString('en')}</td>
  <td class="num">${r.errored.toLocaleString('en')}</td>
  <td class="num">${r.users.toLocaleString('en')}</td>
  <td class="num">${r.events ? r.events.events.toLocaleString('en') : '0'}</td>
  <td class="num">${r.events ? html`<a href="${issuesLink(r.name)}">${r.events.issues}</a>` : '0'}</td>
  <td>${timeEl(r.events?.lastSeen)}</td>
</tr>`,
)}</tbody></table>
<p class="muted">Crash-free sessions: sessions that did not crash out of all started. Crash-free users: users (distinct device ids) none of whose sessions crashed.</p>`}`;
  sendHtml(res, 200, layout({ title: `Releases · ${project.name}`, session, project, section: 'releases', body }));
}
