
import { HttpError } from '../http/errors.js';
import { sendJson } from '../http/respond.js';
import type { ApiHandler } from './routes.js';
import { visibleProjectRows } from './lookup.js';
import { requireOrg, requireProject } from './lookup.js';
import { linkHeader, offsetPage, parseCursor, parseLimit } from './pagination.js';
import { parsePeriod } from './period.js';
import { releaseHealth, type ReleaseHealth } from '../digest/health-query.js';
import { listReleases, projectSessions24h, type ReleaseRow } from './queries/releases.js';
import { serializeRelease, type ProjectRef } from './serialize-release.js';
import { publicRequestUrl } from './routes-org.js';

// GET organizations/{org}/releases/ and projects/{org}/{project}/releases/, with health=1 for
// release health (crash-free sessions and users) over summaryStatsPeriod (default 14d, as Sentry).

type H = ApiHandler;

export const releases: H = async (ctx, _req, res, params, url, who) => {
  let projects: ProjectRef[];
  if (params.project !== undefined) projects = [await requireProject(ctx.db.pool, ctx.config, params.org!, params.project, who)];
  else {
    requireOrg(ctx.config, params.org!);
    const wanted = url.searchParams.getAll('project').filter((p) => p && p !== '-1');
    projects = (await visibleProjectRows(ctx.db.pool, who)).filter((p) => !wanted.length || wanted.includes(String(p.id)) || wanted.includes(p.slug));
  }
  const ids = projects.map((p) => p.id);
  const byProject = new Map(projects.map((p) => [p.id, p]));
  const rows = (ids.length ? await listReleases(ctx.db.pool, ids, params.version ?? url.searchParams.get('query')) : []).filter((r) => params.version === undefined || r.version === params.version);
  const versions = new Map<string, ReleaseRow[]>();
  for (const r of rows) versions.set(r.version, [...(versions.get(r.version) ?? []), r]);

  let health: { period: Map<string, ReleaseHealth>; last24h: Map<string, ReleaseHealth>; project24h: Map<number, { sessions: number; users: number }> } | null = null;
  const h = url.searchParams.get('health');
  if (h === '1' || h === 'true') {
    const period = parsePeriod(url.searchParams.get('summaryStatsPeriod') ?? url.searchParams.get('statsPeriod') ?? '14d', 'summaryStatsPeriod');
    const envs = url.searchParams.getAll('environment').filter(Boolean);
    const environments = envs.length ? envs : undefined;
    const now = Date.now();
    const [hp, h24, p24] = await Promise.all([
      releaseHealth(ctx.db.pool, ids, { since: period === null ? undefined : new Date(now - period), environments }),
      releaseHealth(ctx.db.pool, ids, { since: new Date(now - 86_400_000), environments }),
      projectSessions24h(ctx.db.pool, ids),
    ]);
    const byKey = (l: ReleaseHealth[]) => new Map(l.map((x) => [`${x.projectId}\u0000${x.release}`, x]));
    health = { period: byKey(hp), last24h: byKey(h24), project24h: p24 };
  } else if (h !== null && h !== '' && h !== '0' && h !== 'false') throw new HttpError('invalid_request', 'health must be 0 or 1');

  const all = [...versions.entries()].map(([v, rs]) => serializeRelease(v, rs, byProject, health));
  if (params.version !== undefined) {
    // organizations/{org}/releases/{version}/ (sentry-cli `releases info`)
    const one = all.find((r) => r.version === params.version);
    if (!one) throw new HttpError('not_found', 'The requested resource does not exist');
    sendJson(res, 200, one);
    return;
  }
  const { rows: page, links } = offsetPage(all, parseCursor(url.searchParams.get('cursor')), parseLimit(url.searchParams.get('per_page') ?? url.searchParams.get('limit'), 25));
  sendJson(res, 200, page, { link: linkHeader(publicRequestUrl(ctx, url), links) });
};
