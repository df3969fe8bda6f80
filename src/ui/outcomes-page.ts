import type { IncomingMessage, ServerResponse } from 'node:http';
import { listOutcomes } from '../outcomes/index.js';
import type { AppContext } from '../context.js';
import { pageSession } from './auth.js';
import { html } from './html.js';
import { sendHtml } from './http.js';
import { layout } from './layout.js';
import { PERIODS, periodOf, projectBySlug } from './project-context.js';
import { recentInvalidItems, recentQueueErrors, unprocessedItems } from './queries.js';
import { isoTime, timeEl } from './values.js';

// What became of what SDKs sent: accepted, and everything dropped with its reason (rate limits,
// invalid or too large items, SDK-side discards from client reports), plus items and payloads the
// digest could not use.

const OUTCOME_HELP: Record<string, string> = {
  accepted: 'stored and processed',
  filtered: 'dropped by a filter',
  rate_limited: 'refused by a rate limit (the SDK was told to back off)',
  invalid: 'refused as malformed',
  too_large: 'refused for its size (a MAX_* setting)',
  unauthorized: 'refused: unknown or disabled key',
  client_discard: 'dropped by the SDK itself (from its client reports)',
};

export async function getOutcomes(ctx: AppContext, req: IncomingMessage, res: ServerResponse, url: URL, slug: string): Promise<void> {
  const session = await pageSession(ctx, req, res, url);
  if (!session) return;
  const project = await projectBySlug(ctx, slug, session, 'project:read');
  const period = periodOf(url);
  const since = new Date(Date.now() - period.hours * 3600_000);
  const [rows, invalid, failed, unprocessed] = await Promise.all([
    listOutcomes(ctx.db.pool, { projectId: project.id, since }),
    recentInvalidItems(ctx.db.pool, project.id, since),
    recentQueueErrors(ctx.db.pool, project.id, since),
    unprocessedItems(ctx.db.pool, project.id, since),
  ]);
  const totals = new Map<string, { outcome: string; reason: string; category: string; quantity: number; last: Date }>();
  for (const r of rows) {
    const k = `${r.outcome}\u0000${r.reason}\u0000${r.category}`;
    const t = totals.get(k);
    if (t) {
      t.quantity += r.quantity;
      if (r.hour > t.last) t.last = r.hour;
    } else totals.set(k, { outcome: r.outcome, reason: r.reason, category: r.category, quantity: r.quantity, last: r.hour });
  }
  const summary = [...totals.values()].sort((a, b) => b.quantity - a.quantity);
  const body = html`<h1>Outcomes</h1>
<form class="filters" method="get">
  <div><label for="period">Period</label><select id="period" name="period" data-autosubmit>${Object.keys(PERIODS).map((k) => html`<option value="${k}"${k === period.key ? html` selected` : ''}>last ${k}</option>`)}</select></div>
  <div><button type="submit">Show</button></div>
</form>
${summary.length === 0
  ? html`<p class="empty">Nothing recorded in the last ${period.key}.</p>`
  : html`<table>
<thead><tr><th>Outcome</th><th>Reason</th><th>Category</th><th class="num">Count</th><th>Last hour seen</th></tr></thead>
<tbody>${summary.map(
  (s) => html`<tr><td><span class="mono">${s.outcome}</span><div class="issue-sub">${OUTCOME_HELP[s.outcome] ?? ''}</div></td><td class="mono">${s.reason}</td><td class="mono">${s.category}</td><td class="num">${s.quantity.toLocaleString('en')}</td><td>${timeEl(s.last)}</td></tr>`,
)}</tbody></table>
<h2>By hour</h2>
<table>
<thead><tr><th>Hour (UTC)</th><th>Outcome</th><th>Reason</th><th>Category</th><th class="num">Count</th></tr></thead>
<tbody>${rows.slice(0, 500).map((r) => html`<tr><td>${isoTime(r.hour)}</td><td class="mono">${r.outcome}</td><td class="mono">${r.reason}</td><td class="mono">${r.category}</td><td class="num">${r.quantity.toLocaleString('en')}</td></tr>`)}</tbody>
</table>`}
<h2>Kept but not processed</h2>
${unprocessed.length
  ? html`<p class="muted">Accepted and archived (nothing lost); crash-cache does not analyse these kinds yet.</p><table><thead><tr><th>Category</th><th class="num">Items</th><th class="num">Bytes</th></tr></thead><tbody>${unprocessed.map((u) => html`<tr><td class="mono">${u.category}</td><td class="num">${u.items.toLocaleString('en')}</td><td class="num">${u.bytes.toLocaleString('en')}</td></tr>`)}</tbody></table>`
  : html`<p class="muted">None in the last ${period.key}.</p>`}
<h2>Items the digest could not process</h2>
${invalid.length
  ? html`<table><thead><tr><th>Received</th><th>Item</th><th>Reason</th></tr></thead><tbody>${invalid.map((i) => html`<tr><td>${timeEl(i.received_at)}</td><td class="mono">${i.item_type}</td><td>${i.reason}</td></tr>`)}</tbody></table>`
  : html`<p class="muted">None in the last ${period.key}.</p>`}
<h2>Payloads that failed</h2>
${failed.length
  ? html`<table><thead><tr><th>Failed</th><th class="num">Attempts</th><th>Error</th></tr></thead><tbody>${failed.map((f) => html`<tr><td>${timeEl(f.failed_at)}</td><td class="num">${f.attempts}</td><td class="mono">${f.error}</td></tr>`)}</tbody></table>
<p class="muted">Retry them with <code>crash-cache-cli queue retry --all</code> once the cause is fixed.</p>`
  : html`<p class="muted">None in the last ${period.key}.</p>`}`;
  sendHtml(res, 200, layout({ title: `Outcomes · ${project.name}`, session, project, section: 'outcomes', body }));
}
