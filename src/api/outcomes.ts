import { canSeeProject } from '../auth/access.js';
import type { ApiHandler } from './routes.js';
import { HttpError } from '../http/errors.js';
import { sendJson } from '../http/respond.js';
import { listOutcomes, type OutcomeCount } from '../outcomes/queries.js';
import { listAccepted } from './queries/accepted.js';
import { requireOrg, requireProject } from './lookup.js';
import { parsePeriod } from './period.js';

// What was dropped, over the read API (registered in routes.ts like every /api/0/ route):
// - GET /api/0/projects/{org}/{project}/outcomes/?statsPeriod=24h — our own simple shape: totals
//   per outcome/reason/category and the hourly rows;
// - GET /api/0/organizations/{org}/stats_v2/?field=sum(quantity)&groupBy=outcome&groupBy=category
//   &statsPeriod=24h&interval=1h[&project=ID][&outcome=…][&category=…][&reason=…] — the shape
//   Sentry's usage-stats page and its API clients read: {start, end, intervals, groups[{by, totals,
//   series}]}. Outcomes are stored per hour, so the interval is 1h or a multiple of it (1d, …).
// Server-side outcomes come from the `outcome` table, SDK client reports as 'client_discard', and
// stats_v2 adds 'accepted' rows for what the digest counted (queries/accepted.ts).

const HOUR_MS = 3_600_000;
const DEFAULT_PERIOD_MS = 24 * HOUR_MS;
const MAX_PERIOD_MS = 90 * 24 * HOUR_MS;
const GROUP_KEYS = ['outcome', 'category', 'reason', 'project'] as const;
type GroupKey = (typeof GROUP_KEYS)[number];

function period(url: URL): number {
  const ms = parsePeriod(url.searchParams.get('statsPeriod')) ?? DEFAULT_PERIOD_MS;
  return Math.min(ms, MAX_PERIOD_MS);
}

export const projectOutcomes: ApiHandler = async (ctx, _req, res, params, url, who) => {
  const project = await requireProject(ctx.db.pool, ctx.config, params.org!, params.project!, who);
  const end = new Date();
  const start = new Date(end.getTime() - period(url));
  const rows = await listOutcomes(ctx.db.pool, { projectId: project.id, since: start });
  const totals = new Map<string, { outcome: string; reason: string; category: string; quantity: number }>();
  for (const r of rows) {
    const k = `${r.outcome}\u0000${r.reason}\u0000${r.category}`;
    const t = totals.get(k);
    if (t) t.quantity += r.quantity;
    else totals.set(k, { outcome: r.outcome, reason: r.reason, category: r.category, quantity: r.quantity });
  }
  sendJson(res, 200, {
    project: { id: String(project.id), slug: project.slug },
    start: start.toISOString(),
    end: end.toISOString(),
    totals: [...totals.values()].sort((a, b) => b.quantity - a.quantity),
    hourly: rows.map((r) => ({ hour: r.hour.toISOString(), outcome: r.outcome, reason: r.reason, category: r.category, quantity: r.quantity })),
  });
};

/** Sentry's `interval`: 1h, 6h, 1d, ...; whole hours only (outcomes are hourly). */
function intervalMs(url: URL): number {
  const raw = url.searchParams.get('interval') || '1h';
  const ms = parsePeriod(raw, 'interval')!;
  if (ms % HOUR_MS !== 0) throw new HttpError('invalid_request', `interval must be whole hours (outcomes are kept per hour), e.g. 1h or 1d; got ${JSON.stringify(raw)}`);
  return ms;
}

export const statsV2: ApiHandler = async (ctx, _req, res, params, url, who) => {
  requireOrg(ctx.config, params.org!);
  const q = url.searchParams;
  const fields = q.getAll('field');
  if (!fields.length || fields.some((f) => f !== 'sum(quantity)')) {
    throw new HttpError('invalid_request', 'field must be sum(quantity) (sum(times_seen) is not kept)');
  }
  const groupBy = q.getAll('groupBy') as GroupKey[];
  const bad = groupBy.find((g) => !GROUP_KEYS.includes(g));
  if (bad) throw new HttpError('invalid_request', `groupBy must be one of ${GROUP_KEYS.join(', ')}; got ${JSON.stringify(bad)}`);
  const step = intervalMs(url);
  const now = Date.now();
  const end = Math.floor(now / step) * step + step;
  const start = end - Math.ceil(period(url) / step) * step;
  const projectIds = new Set(q.getAll('project').filter((p) => p !== '-1' && p !== ''));
  for (const p of projectIds) if (!/^\d+$/.test(p)) throw new HttpError('invalid_request', `project must be a numeric id; got ${JSON.stringify(p)}`);
  const only = (name: string) => {
    const v = q.getAll(name).flatMap((x) => x.split(',')).filter(Boolean);
    return v.length ? new Set(v) : null;
  };
  const outcomes = only('outcome');
  const categories = only('category');
  const reasons = only('reason');
  const one = projectIds.size === 1 ? Number([...projectIds][0]) : undefined;
  const all = await listOutcomes(ctx.db.pool, { projectId: one, since: new Date(start) });
  // What the digest accepted and counted, next to what was dropped (queries/accepted.ts).
  if (!outcomes || outcomes.has('accepted')) all.push(...(await listAccepted(ctx.db.pool, { projectId: one, since: new Date(start), categories })));
  const rows = all.filter(
    (r: OutcomeCount) =>
      (!projectIds.size || projectIds.has(String(r.projectId))) &&
      (who.projectIds === null || (r.projectId !== null && canSeeProject(who, r.projectId))) &&
      (!outcomes || outcomes.has(r.outcome)) &&
      (!categories || categories.has(r.category)) &&
      (!reasons || reasons.has(r.reason)),
  );
  const n = Math.round((end - start) / step);
  const intervals = Array.from({ length: n }, (_, i) => new Date(start + i * step).toISOString().replace('.000Z', 'Z'));
  const groups = new Map<string, { by: Record<string, string | number | null>; totals: { 'sum(quantity)': number }; series: { 'sum(quantity)': number[] } }>();
  for (const r of rows) {
    const i = Math.floor((r.hour.getTime() - start) / step);
    if (i < 0 || i >= n) continue;
    const by: Record<string, string | number | null> = {};
    for (const g of groupBy) by[g] = g === 'project' ? r.projectId : r[g];
    const k = JSON.stringify(by);
    let grp = groups.get(k);
    if (!grp) groups.set(k, (grp = { by, totals: { 'sum(quantity)': 0 }, series: { 'sum(quantity)': new Array<number>(n).fill(0) } }));
    grp.totals['sum(quantity)'] += r.quantity;
    grp.series['sum(quantity)'][i]! += r.quantity;
  }
  sendJson(res, 200, {
    start: new Date(start).toISOString().replace('.000Z', 'Z'),
    end: new Date(end).toISOString().replace('.000Z', 'Z'),
    intervals,
    groups: [...groups.values()],
  });
};
