
import { HttpError } from '../http/errors.js';
import { sendJson } from '../http/respond.js';
import type { Params } from '../http/router.js';
import type { AppContext } from '../context.js';
import type { ApiHandler } from './routes.js';
import type { Principal } from '../auth/principal.js';
import { canSeeProject } from '../auth/access.js';
import { getProject, type ProjectRow } from '../storage/projects.js';
import { requireOrg, requireProject, visibleProjectRows } from './lookup.js';
import { linkHeader, pageLinks, parseCursor, parseLimit } from './pagination.js';
import { parsePeriod } from './period.js';
import { listCheckIns, listMonitors, monitorEnvironments, type MonitorRow } from './queries/monitors.js';
import { publicRequestUrl } from './routes-org.js';
import { monitorGuid, serializeCheckIn, serializeMonitor } from './serialize-monitor.js';

// Cron monitors (organizations/{org}/monitors/[{monitor}/]) and a monitor's check-ins, under both
// of Sentry's paths (organizations/{org}/monitors/{monitor}/checkins/ and
// projects/{org}/{project}/monitors/{monitor}/checkins/). {monitor} is a slug or the monitor's id.

type H = ApiHandler;

const NOT_FOUND = 'The requested resource does not exist';
const DAY_MS = 86_400_000;
/** Environments and check-ins are read over this many days unless statsPeriod says otherwise. */
const DEFAULT_DAYS = 30;
const MAX_DAYS = 90;

function days(url: URL): number {
  const ms = parsePeriod(url.searchParams.get('statsPeriod')) ?? DEFAULT_DAYS * DAY_MS;
  return Math.min(MAX_DAYS, Math.max(1, Math.ceil(ms / DAY_MS)));
}

async function projectsById(ctx: AppContext, who: Principal): Promise<Map<number, ProjectRow>> {
  return new Map((await visibleProjectRows(ctx.db.pool, who)).map((p) => [p.id, p]));
}

/** `project=` filters (ids or slugs; -1 = all), as Sentry's organization endpoints take them. */
async function projectFilter(ctx: AppContext, url: URL): Promise<Set<number> | null> {
  const refs = url.searchParams.getAll('project').filter((p) => p !== '' && p !== '-1');
  if (!refs.length) return null;
  const ids = new Set<number>();
  for (const r of refs) {
    const p = await getProject(ctx.db.pool, r);
    if (p) ids.add(p.id);
  }
  return ids;
}

/** The project named in the path (projects/… routes), or null (organizations/… routes). */
async function projectOf(ctx: AppContext, params: Params, who: Principal): Promise<number | null> {
  if (params.project !== undefined) return (await requireProject(ctx.db.pool, ctx.config, params.org!, params.project, who)).id;
  requireOrg(ctx.config, params.org!);
  return null;
}

async function findMonitor(ctx: AppContext, ref: string, projectId: number | null): Promise<MonitorRow> {
  let found = await listMonitors(ctx.db.pool, projectId, ref);
  if (!found.length && /^[0-9a-f-]{36}$/i.test(ref)) {
    found = (await listMonitors(ctx.db.pool, projectId)).filter((m) => monitorGuid(m.project_id, m.slug) === ref.toLowerCase());
  }
  if (!found.length) throw new HttpError('not_found', NOT_FOUND);
  return found[0]!;
}

/** Serialized monitors; those of projects the principal cannot see are left out. */
async function serializeAll(ctx: AppContext, monitors: MonitorRow[], url: URL, who: Principal) {
  const [projects, envs] = await Promise.all([projectsById(ctx, who), monitorEnvironments(ctx.db.pool, monitors, days(url))]);
  return monitors
    .filter((m) => projects.has(m.project_id))
    .map((m) => serializeMonitor(m, projects.get(m.project_id)!, envs.filter((e) => e.project_id === m.project_id && e.slug === m.slug)));
}

/** organizations/{org}/monitors/[?project=…] */
export const list: H = async (ctx, _req, res, params, url, who) => {
  requireOrg(ctx.config, params.org!);
  const only = await projectFilter(ctx, url);
  const monitors = (await listMonitors(ctx.db.pool, only?.size === 1 ? [...only][0]! : null)).filter((m) => !only || only.has(m.project_id));
  sendJson(res, 200, await serializeAll(ctx, monitors, url, who));
};

/** organizations/{org}/monitors/{monitor}/ and projects/{org}/{project}/monitors/{monitor}/ */
export const detail: H = async (ctx, _req, res, params, url, who) => {
  const projectId = await projectOf(ctx, params, who);
  const m = await findMonitor(ctx, params.monitor!, projectId);
  if (!canSeeProject(who, m.project_id)) throw new HttpError('not_found', NOT_FOUND);
  sendJson(res, 200, (await serializeAll(ctx, [m], url, who))[0]);
};

/** …/monitors/{monitor}/checkins/[?statsPeriod=30d&cursor=…&limit=…] */
export const checkIns: H = async (ctx, _req, res, params, url, who) => {
  const projectId = await projectOf(ctx, params, who);
  const m = await findMonitor(ctx, params.monitor!, projectId);
  if (!canSeeProject(who, m.project_id)) throw new HttpError('not_found', NOT_FOUND);
  const cursor = parseCursor(url.searchParams.get('cursor'));
  const limit = parseLimit(url.searchParams.get('limit') ?? url.searchParams.get('per_page'), 100);
  const { rows, more } = await listCheckIns(ctx.db.pool, {
    projectId: m.project_id,
    slug: m.slug,
    days: days(url),
    limit,
    beforeId: cursor && !cursor.isPrev ? cursor.id : null,
    afterId: cursor?.isPrev ? cursor.id : null,
  });
  const now = Date.now();
  sendJson(res, 200, rows.map((c) => serializeCheckIn(c, m.config, now)), {
    link: linkHeader(publicRequestUrl(ctx, url), pageLinks(rows, (c) => ({ value: 0, id: c.first_id }), cursor, more)),
  });
};
