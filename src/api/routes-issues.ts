
import { HttpError } from '../http/errors.js';
import { sendJson } from '../http/respond.js';
import type { Params } from '../http/router.js';
import type { AppContext } from '../context.js';
import type { ProjectRow } from '../storage/projects.js';
import { readJsonBody } from './body.js';
import { requireIssue, requireOrg, requireProject, visibleProjectRows } from './lookup.js';
import type { ApiHandler } from './routes.js';
import type { Principal } from '../auth/principal.js';
import { linkHeader, offsetPage, pageLinks, parseCursor, parseLimit } from './pagination.js';
import { parsePeriod, statsBuckets } from './period.js';
import {
  deleteIssues, getIssue, ISSUE_SORTS, issueStats, listIssues, matchingIssueIds,
  ensureRelease, type IssueRow, type IssueSort, type IssueStatus, type Resolution, type Snooze,
} from './queries/issues.js';
import { issueTagKeys, issueTagValues, tagLabel } from './queries/tags.js';
import { parseSearch, type ParsedSearch, type SearchLimits } from './search.js';
import { serializeIssue, serializeIssueDetail } from './serialize-issue.js';
import { snoozeOf } from './snooze.js';
import { publicRequestUrl } from './routes-org.js';
import { checkMerge, mergeMatched, wantsMerge } from './routes-merge.js';
import { transaction } from '../storage/transaction.js';
import { changeIssueStatus } from '../collab/status.js';
import { applyCollabChange, readCollabChange } from '../collab/issue-update.js';
import { noticesOn } from '../notices/queue.js';
import { collabFacts, collabJson } from '../collab/facts.js';
import { listActivity, serializeActivity } from '../activity/queries.js';

// Issue list (search, sort, pages), one issue, status changes (single and bulk), deletion, tags.

type H = ApiHandler;

// Sentry's list endpoints search "is:unresolved" unless told otherwise; query= (empty) means everything.
const DEFAULT_QUERY = 'is:unresolved';

/** The organization's projects the who may see, narrowed by project=… (an unknown or hidden one is a 403). */
async function orgProjects(ctx: AppContext, url: URL, who: Principal): Promise<ProjectRow[]> {
  const all = await visibleProjectRows(ctx.db.pool, who);
  const wanted = url.searchParams.getAll('project').filter((p) => p !== '' && p !== '-1');
  if (!wanted.length) return all;
  const chosen = all.filter((p) => wanted.includes(String(p.id)) || wanted.includes(p.slug));
  if (chosen.length !== new Set(wanted).size) throw new HttpError('forbidden', `unknown project in project=${wanted.join(',')}`);
  return chosen;
}

async function scope(ctx: AppContext, params: Params, url: URL, who: Principal): Promise<ProjectRow[]> {
  if (params.project !== undefined) return [await requireProject(ctx.db.pool, ctx.config, params.org!, params.project, who)];
  requireOrg(ctx.config, params.org!);
  return orgProjects(ctx, url, who);
}

function searchOf(url: URL, limits: SearchLimits): ParsedSearch {
  const q = url.searchParams.has('query') ? url.searchParams.get('query')! : DEFAULT_QUERY;
  const search = parseSearch(q, limits);
  // sentry-cli's bulk filter sends status=<status> (the old API's parameter)
  const st = url.searchParams.get('status');
  if (st) search.filters.push({ key: 'is', values: [st], negate: false });
  // Sentry's clients pass the environment selector as its own parameter (environment=prod&environment=eu)
  const envs = url.searchParams.getAll('environment').filter(Boolean);
  if (envs.length) search.filters.push({ key: 'environment', values: envs, negate: false });
  return search;
}

/** Which stats series to attach: groupStatsPeriod, or statsPeriod when it is 24h or 14d. */
function statsKey(url: URL): '24h' | '14d' | 'auto' | null {
  const g = url.searchParams.get('groupStatsPeriod');
  if (g === '24h' || g === '14d' || g === 'auto') return g;
  if (g !== null && g !== '') throw new HttpError('invalid_request', "groupStatsPeriod must be '', 24h, 14d or auto");
  const s = url.searchParams.get('statsPeriod');
  return s === '24h' || s === '14d' ? s : null;
}

async function withStats(ctx: AppContext, rows: IssueRow[], key: '24h' | '14d' | 'auto' | null, periodMs: number | null): Promise<Map<number, Record<string, [number, number][]>>> {
  const out = new Map<number, Record<string, [number, number][]>>();
  if (!key) return out;
  const buckets = statsBuckets(key === 'auto' ? (periodMs !== null && periodMs <= 86_400_000 ? '24h' : '14d') : key);
  const series = await issueStats(ctx.db.pool, rows, buckets.bucketSecs, buckets.count);
  for (const r of rows) out.set(r.id, { [key]: series.get(r.id) ?? [] });
  return out;
}

export const list: H = async (ctx, _req, res, params, url, who) => {
  const projects = await scope(ctx, params, url, who);
  const sort = (url.searchParams.get('sort') || 'date') as IssueSort;
  if (!ISSUE_SORTS.includes(sort)) throw new HttpError('invalid_request', `sort must be one of ${ISSUE_SORTS.join(', ')}`);
  const periodMs = parsePeriod(url.searchParams.get('statsPeriod'));
  const cursor = parseCursor(url.searchParams.get('cursor'));
  const limit = parseLimit(url.searchParams.get('limit') ?? url.searchParams.get('per_page'), params.project !== undefined ? 100 : 25);
  const { rows, more } = projects.length
    ? await listIssues(ctx.db.pool, { projects, search: searchOf(url, ctx.config), sort, periodMs, limit, cursor, userId: who.userId })
    : { rows: [], more: false };
  const stats = await withStats(ctx, rows, statsKey(url), periodMs);
  const links = pageLinks(rows, (r) => ({ value: r.sort_value, id: r.id }), cursor, more);
  const facts = await collabFacts(ctx.db.pool, rows, who.userId);
  sendJson(res, 200, rows.map((r) => ({ ...serializeIssue(ctx.config, r, stats.get(r.id)), ...collabJson(facts.get(r.id)) })), { link: linkHeader(publicRequestUrl(ctx, url), links) });
};

/** A release version as events carry it (src/protocol/event.ts trims them to 200 characters). */
const MAX_RELEASE_CHARS = 200;

/**
 * Sentry's resolution statusDetails: inNextRelease: true, or inRelease: "<version>" | "latest"
 * (migrations/0048); null for a plain resolve (inCommit is taken as one: commits are not tracked).
 */
function resolutionOf(d: Record<string, unknown>): Resolution | null {
  if (d.inRelease !== undefined && d.inRelease !== null) {
    if (typeof d.inRelease !== 'string' || !d.inRelease.trim() || d.inRelease.length > MAX_RELEASE_CHARS) {
      throw new HttpError('invalid_request', `statusDetails.inRelease must be a release version (at most ${MAX_RELEASE_CHARS} characters) or "latest"`);
    }
    return d.inRelease === 'latest' ? { kind: 'latest' } : { kind: 'in', release: d.inRelease.trim() };
  }
  if (d.inNextRelease === true) return { kind: 'next' };
  if (d.inNextRelease !== undefined && d.inNextRelease !== false) throw new HttpError('invalid_request', 'statusDetails.inNextRelease must be true or false');
  return null;
}

/** Reads a status change from a PUT body, as Sentry's group update accepts it. */
function statusChange(body: Record<string, unknown>): { status: IssueStatus; substatus: string | null; details: Record<string, unknown>; snooze: Snooze | null; resolution?: Resolution | null } | null {
  const raw = body.status;
  const details = (typeof body.statusDetails === 'object' && body.statusDetails) || {};
  if (raw === undefined) {
    const d = details as Record<string, unknown>;
    if (d.inNextRelease || d.inRelease || d.inCommit) return { status: 'resolved', substatus: null, details: d, snooze: null, resolution: resolutionOf(d) };
    return null;
  }
  switch (raw) {
    case 'resolved':
      return { status: 'resolved', substatus: null, details: details as Record<string, unknown>, snooze: null, resolution: resolutionOf(details as Record<string, unknown>) };
    case 'resolvedInNextRelease':
      return { status: 'resolved', substatus: null, details: { inNextRelease: true }, snooze: null, resolution: { kind: 'next' } };
    case 'unresolved':
      return { status: 'unresolved', substatus: 'ongoing', details: {}, snooze: null };
    case 'ignored':
    case 'archived':
    case 'muted': {
      const snooze = snoozeOf({ ...body, ...(details as Record<string, unknown>) });
      const sub = typeof body.substatus === 'string' ? body.substatus : snooze ? 'archived_until_condition_met' : 'archived_forever';
      return { status: 'ignored', substatus: sub, details: snooze?.details ?? (details as Record<string, unknown>), snooze };
    }
    default:
      throw new HttpError('invalid_request', `status must be resolved, resolvedInNextRelease, unresolved or ignored, got ${JSON.stringify(raw)}`);
  }
}

/**
 * Applies a PUT body to the issues: status (with its activity entries), assignee, bookmark. Everything
 * is read and checked first, then changed in one transaction: a bad part changes nothing.
 */
async function applyChange(ctx: AppContext, ids: number[], body: Record<string, unknown>, who: Principal, projects: { id: number; slug: string }[]): Promise<Record<string, unknown>> {
  const change = statusChange(body);
  // an assignee must be able to see the projects of the issues changed (not every project searched)
  const touched = 'assignedTo' in body
    ? (await ctx.db.pool.query<{ project_id: number }>('SELECT DISTINCT project_id FROM issue WHERE id = ANY($1::bigint[])', [ids])).rows.map((r) => Number(r.project_id))
    : [];
  const collab = await readCollabChange(ctx.db.pool, body, who, projects.filter((p) => touched.includes(Number(p.id))));
  if (!change && collab.assignee === undefined && !collab.bookmark && !collab.subscription) return {};
  // a release named before it has events takes its place in the release order now (as Sentry makes
  // it), in its own statement: the digest inserts dimensions too, and must not wait on this transaction
  if (change?.resolution?.kind === 'in') await ensureRelease(ctx.db.pool, ids, change.resolution.release);
  return transaction(ctx.db.pool, async (client) => {
    let out: Record<string, unknown> = {};
    if (change) {
      const data = change.status === 'resolved' ? change.details : undefined;
      const { substatus } = await changeIssueStatus(client, ids, { status: change.status, substatus: change.substatus, snooze: change.snooze, resolution: change.resolution, data }, who.userId);
      out = { status: change.status, statusDetails: change.snooze ? { ...change.details, actor: null } : change.details, substatus, inbox: null };
    }
    return { ...out, ...(await applyCollabChange(client, ids, collab, who, noticesOn(ctx.config))) };
  });
}

function idsOf(url: URL): number[] | null {
  const ids = url.searchParams.getAll('id');
  if (!ids.length) return null;
  if (!ids.every((i) => /^\d{1,15}$/.test(i))) throw new HttpError('invalid_request', 'id must be numeric issue ids (at most 15 digits)');
  return ids.map(Number);
}

/** Bulk change: PUT …/issues/?id=1&id=2 (or ?query=…) with the change; answers the change, 204 when nothing matched. */
export const bulkUpdate: H = async (ctx, req, res, params, url, who) => {
  const projects = await scope(ctx, params, url, who);
  const body = await readJsonBody(req);
  const ids = idsOf(url);
  const merge = wantsMerge(body);
  if (merge && !ids) throw new HttpError('invalid_request', 'merge needs id=… parameters');
  const matched = await matchingIssueIds(ctx.db.pool, projects, ids ? parseSearch(url.searchParams.get('query') ?? '', ctx.config) : searchOf(url, ctx.config), ids, 1000, who.userId);
  // a merge is checked (two or more issues of one project) before the status change, so a refused one changes nothing
  if (merge) await checkMerge(ctx, matched, who);
  if (!matched.length) {
    res.writeHead(204).end();
    return;
  }
  const out = await applyChange(ctx, matched, body, who, projects);
  if (merge) out.merge = await mergeMatched(ctx, matched, who);
  sendJson(res, 200, out);
};

export const bulkDelete: H = async (ctx, _req, res, params, url, who) => {
  const projects = await scope(ctx, params, url, who);
  const ids = idsOf(url);
  if (!ids) throw new HttpError('invalid_request', 'bulk delete needs id=… parameters');
  const matched = await matchingIssueIds(ctx.db.pool, projects, parseSearch(''), ids);
  if (!matched.length) {
    res.writeHead(204).end();
    return;
  }
  await deleteIssues(ctx.db.pool, matched);
  res.writeHead(204).end();
};

async function issueFor(ctx: AppContext, params: Params, who: Principal): Promise<IssueRow> {
  if (params.org !== undefined) requireOrg(ctx.config, params.org);
  return requireIssue(ctx.db.pool, params.issueId!, who);
}

export const detail: H = async (ctx, _req, res, params, _url, who) => {
  const row = await issueFor(ctx, params, who);
  const [stats24, stats30, keys, reports, releases, facts, activity] = await Promise.all([
    issueStats(ctx.db.pool, [row], 3600, 24),
    issueStats(ctx.db.pool, [row], 86400, 30),
    issueTagKeys(ctx.db.pool, row.project_id, row.id),
    // driven from user_report (few rows) through report's (project_id, event_id) key, not from the issue's events
    ctx.db.pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM user_report u
        WHERE u.project_id = $1 AND EXISTS (SELECT 1 FROM report r WHERE r.project_id = u.project_id AND r.event_id = u.event_id AND r.issue_id = $2)`,
      [row.project_id, row.id],
    ),
    issueTagValues(ctx.db.pool, row.project_id, row.id, ['release'], 1000),
    collabFacts(ctx.db.pool, [row], who.userId),
    listActivity(ctx.db.pool, row),
  ]);
  const byTime = [...releases].sort((a, b) => a.first_seen.getTime() - b.first_seen.getTime());
  sendJson(res, 200, { ...serializeIssueDetail(ctx.config, row, {
    stats: { '24h': stats24.get(row.id) ?? [], '30d': stats30.get(row.id) ?? [] },
    tags: keys.map((k) => ({ key: k.key, name: tagLabel(k.key), totalValues: k.total_values })),
    userReportCount: reports.rows[0]?.n ?? 0,
    firstRelease: byTime[0]?.value ?? null,
    lastRelease: [...releases].sort((a, b) => b.last_seen.getTime() - a.last_seen.getTime())[0]?.value ?? null,
  }), ...collabJson(facts.get(row.id)), activity: activity.map(serializeActivity) });
};

export const update: H = async (ctx, req, res, params, _url, who) => {
  const row = await issueFor(ctx, params, who);
  const body = await readJsonBody(req);
  const changed = await applyChange(ctx, [row.id], body, who, [{ id: row.project_id, slug: row.project_slug }]);
  const now = (await getIssue(ctx.db.pool, row.id)) ?? row;
  const facts = await collabFacts(ctx.db.pool, [now], who.userId);
  sendJson(res, 200, { ...serializeIssue(ctx.config, now), ...collabJson(facts.get(now.id)), ...changed });
};

export const remove: H = async (ctx, _req, res, params, _url, who) => {
  const row = await issueFor(ctx, params, who);
  await deleteIssues(ctx.db.pool, [row.id]);
  res.writeHead(202).end();
};

export const tags: H = async (ctx, _req, res, params, url, who) => {
  const row = await issueFor(ctx, params, who);
  const wanted = url.searchParams.getAll('key');
  const limit = parseLimit(url.searchParams.get('limit'), 10, 100);
  const [keys, values] = await Promise.all([
    issueTagKeys(ctx.db.pool, row.project_id, row.id),
    issueTagValues(ctx.db.pool, row.project_id, row.id, wanted.length ? wanted : null, limit),
  ]);
  sendJson(res, 200, keys.filter((k) => !wanted.length || wanted.includes(k.key)).map((k) => tagJson(k, values.filter((v) => v.key === k.key))));
};

function tagJson(k: { key: string; total_values: number; unique_values: number }, values: { key: string; value: string; count: number; first_seen: Date; last_seen: Date }[]) {
  return {
    key: k.key,
    name: tagLabel(k.key),
    totalValues: k.total_values,
    uniqueValues: k.unique_values,
    topValues: values.map((v) => valueJson(v)),
  };
}

function valueJson(v: { key: string; value: string; count: number; first_seen: Date; last_seen: Date }) {
  return { key: v.key, name: v.value, value: v.value, count: v.count, firstSeen: v.first_seen.toISOString(), lastSeen: v.last_seen.toISOString() };
}

export const tag: H = async (ctx, _req, res, params, _url, who) => {
  const row = await issueFor(ctx, params, who);
  const key = params.key!;
  const k = (await issueTagKeys(ctx.db.pool, row.project_id, row.id)).find((x) => x.key === key);
  if (!k) throw new HttpError('not_found', 'The requested resource does not exist');
  const values = await issueTagValues(ctx.db.pool, row.project_id, row.id, [key], 9);
  sendJson(res, 200, tagJson(k, values));
};

export const tagValues: H = async (ctx, _req, res, params, url, who) => {
  const row = await issueFor(ctx, params, who);
  const cursor = parseCursor(url.searchParams.get('cursor'));
  const limit = parseLimit(url.searchParams.get('limit') ?? url.searchParams.get('per_page'), 100);
  const offset = cursor ? (cursor.isPrev ? Math.max(0, cursor.id - limit) : cursor.id) : 0;
  const values = await issueTagValues(ctx.db.pool, row.project_id, row.id, [params.key!], limit + 1, offset);
  const page = values.slice(0, limit);
  const links = {
    prev: { value: 0, id: offset, isPrev: true },
    next: { value: 0, id: offset + page.length, isPrev: false },
    hasPrev: offset > 0,
    hasNext: values.length > limit,
  };
  sendJson(res, 200, page.map(valueJson), { link: linkHeader(publicRequestUrl(ctx, url), links) });
};

export const groupingInfo: H = async (ctx, _req, res, params, _url, who) => {
  const row = await issueFor(ctx, params, who);
  const { rows } = await ctx.db.pool.query<{ grouping: unknown }>('SELECT grouping FROM issue WHERE project_id = $1 AND id = $2', [row.project_id, row.id]);
  sendJson(res, 200, groupingJson(row.grouping_config, row.primary_hash, rows[0]?.grouping ?? null));
};

/**
 * Sentry's grouping-info shape: one entry per variant, keyed by its name, each with its hash,
 * whether it contributes, the component tree and the config. Our stored explanation is the digest's
 * variants map (src/grouping); this only adds the keys Sentry's UI reads.
 */
export function groupingJson(config: string, primaryHash: string, variants: unknown): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const v = (variants && typeof variants === 'object' && 'variants' in (variants as object) ? (variants as { variants: unknown }).variants : variants) as Record<string, Record<string, unknown>> | null;
  if (!v || typeof v !== 'object') return out;
  for (const [name, variant] of Object.entries(v)) {
    if (!variant || typeof variant !== 'object') continue;
    out[name] = {
      key: name,
      type: variant.component ? 'component' : variant.checksum ? 'checksum' : variant.values ? 'custom_fingerprint' : 'fallback',
      description: variant.description ?? variant.hint ?? name,
      hash: variant.hash ?? null,
      hashMismatch: false,
      contributes: !!variant.contributes,
      hint: variant.hint ?? null,
      component: variant.component ?? null,
      values: variant.values ?? undefined,
      config: { id: config },
      isPrimary: variant.hash === primaryHash,
    };
  }
  return out;
}

/** issues/{id}/hashes/: the grouping hashes that lead to this issue (Sentry's "List an Issue's Hashes"). */
export const hashes: H = async (ctx, _req, res, params, url, who) => {
  const row = await issueFor(ctx, params, who);
  const { rows } = await ctx.db.pool.query<{ hash: string; grouping_config: string }>(
    'SELECT hash, grouping_config FROM issue_hash WHERE project_id = $1 AND issue_id = $2 ORDER BY hash = $3 DESC, hash',
    [row.project_id, row.id, row.primary_hash],
  );
  const all = rows.map((r) => ({ id: r.hash, latestEvent: null, mergedBySeer: false, groupingConfig: r.grouping_config }));
  const { rows: page, links } = offsetPage(all, parseCursor(url.searchParams.get('cursor')), parseLimit(url.searchParams.get('limit') ?? url.searchParams.get('per_page'), 100));
  sendJson(res, 200, page, { link: linkHeader(publicRequestUrl(ctx, url), links) });
};
