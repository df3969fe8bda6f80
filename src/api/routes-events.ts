import { projectRules } from '../digest/project-rules.js';
import { loadEvent } from '../digest/load-event.js';
import { groupEvent } from '../digest/group.js';
import { groupingError } from '../digest/grouping-failures.js';
import { HttpError } from '../http/errors.js';
import { sendJson } from '../http/respond.js';
import type { Params } from '../http/router.js';
import type { AppContext } from '../context.js';
import type { ApiHandler } from './routes.js';
import { visibleProjectRows } from './lookup.js';
import { requireIssue, requireOrg, requireProject } from './lookup.js';
import type { Principal } from '../auth/principal.js';
import { linkHeader, pageLinks, parseCursor, parseLimit } from './pagination.js';
import { archiveSize, eventNeighbours, getReport, issueEventAt, listIssueEvents, listProjectEvents, type ReportRow } from './queries/events.js';
import { getIssue, type IssueRow } from './queries/issues.js';
import { groupingJson } from './routes-issues.js';
import { publicRequestUrl } from './routes-org.js';
import { serializeEvent } from './serialize-event.js';

// Events: an issue's list, latest/oldest/recommended, one by id, and how it was grouped. Lists come
// from report rows alone; the full event is rebuilt from its archived payload (loadEvent) only for
// the single event asked for.

type H = ApiHandler;

const NOT_FOUND = 'The requested resource does not exist';

/** The user tag's value ("id:42", "email:a@b", "ip:…") as Sentry's event-list user object. */
function userOfKey(key: string | null) {
  if (!key) return null;
  const i = key.indexOf(':');
  const kind = key.slice(0, i);
  const value = key.slice(i + 1);
  return {
    id: kind === 'id' ? value : null,
    email: kind === 'email' ? value : null,
    username: kind === 'username' ? value : null,
    ip_address: kind === 'ip' ? value : null,
    name: null,
    display_name: value,
  };
}

/** Sentry's event-list item (issues/{id}/events/ without full=true). */
function eventListItem(r: ReportRow, issue: Pick<IssueRow, 'id' | 'title' | 'type' | 'platform' | 'culprit'>) {
  return {
    id: r.event_id,
    eventID: r.event_id,
    groupID: String(issue.id),
    projectID: String(r.project_id),
    title: issue.title,
    message: r.message ?? '',
    'event.type': issue.type,
    platform: issue.platform,
    culprit: issue.culprit,
    location: null,
    dateCreated: r.timestamp.toISOString(),
    dateReceived: r.received_at.toISOString(),
    tags: r.tags.map(([key, value]) => ({ key, value })),
    user: userOfKey(r.user_key),
    crashFile: null,
  };
}

async function fullEvent(ctx: AppContext, r: ReportRow, issue: IssueRow | null) {
  const ev = await loadEvent(ctx.db.pool, r.project_id, r.event_id).catch((e: Error) => {
    // A payload that no longer rebuilds (it did when the digest read it) must not hide the event.
    ctx.log.warn('cannot rebuild event from its archived payload', { project: r.project_id, event: r.event_id, error: e.message });
    return null;
  });
  const [nb, size] = await Promise.all([eventNeighbours(ctx.db.pool, r), archiveSize(ctx.db.pool, r.project_id, r.archive_id)]);
  // An event whose payload cannot be rebuilt any more (retention, a payload that stopped parsing)
  // is still shown from what its report row kept.
  const body: Record<string, unknown> = ev ?? {
    event_id: r.event_id,
    timestamp: r.timestamp.getTime() / 1000,
    received: r.received_at.getTime() / 1000,
    title: issue?.title,
    culprit: issue?.culprit,
    platform: issue?.platform,
    level: issue?.level,
    type: issue?.type,
    metadata: issue?.metadata,
    message: r.message ?? undefined,
    release: r.release ?? undefined,
    environment: r.environment ?? undefined,
  };
  let grouping = null;
  let errors: unknown[] | null = null;
  if (ev) {
    const g = groupEvent(ev, (await projectRules(ctx.db.pool, [r.project_id]))[r.project_id]);
    const contributing = Object.values(g.variants).find((v) => v.contributes && v.hash === g.primaryHash);
    grouping = { config: g.config, primaryHash: g.primaryHash, hashes: g.hashes, contributingVariant: contributing?.name ?? null, hint: contributing?.hint ?? null };
    // The engine is deterministic: what failed in the digest fails here again (grouping-failures.ts).
    if (g.error !== undefined) errors = [...(Array.isArray(ev.errors) ? ev.errors : []), groupingError(g.error)];
  }
  return serializeEvent(errors ? { ...body, errors } : body, {
    projectId: r.project_id,
    issueId: r.issue_id,
    tags: r.tags,
    grouping,
    previousEventID: nb.previous,
    nextEventID: nb.next,
    size,
  });
}

async function issueOf(ctx: AppContext, params: Params, who: Principal): Promise<IssueRow> {
  if (params.org !== undefined) requireOrg(ctx.config, params.org);
  return requireIssue(ctx.db.pool, params.issueId!, who);
}

export const issueEvents: H = async (ctx, _req, res, params, url, who) => {
  const issue = await issueOf(ctx, params, who);
  const cursor = parseCursor(url.searchParams.get('cursor'));
  const full = url.searchParams.get('full') === 'true' || url.searchParams.get('full') === '1';
  const limit = parseLimit(url.searchParams.get('limit') ?? url.searchParams.get('per_page'), full ? 50 : 100);
  const { rows, more } = await listIssueEvents(ctx.db.pool, issue.project_id, issue.id, limit, cursor);
  const body = full ? await Promise.all(rows.map((r) => fullEvent(ctx, r, issue))) : rows.map((r) => eventListItem(r, issue));
  const links = pageLinks(rows, (r) => ({ value: 0, id: r.id }), cursor, more);
  sendJson(res, 200, body, { link: linkHeader(publicRequestUrl(ctx, url), links) });
};

/** issues/{id}/events/{latest|oldest|recommended|<event id>}/ */
export const issueEvent: H = async (ctx, _req, res, params, _url, who) => {
  const issue = await issueOf(ctx, params, who);
  const which = params.eventId!;
  let r: ReportRow | null;
  // "recommended" is Sentry's pick of a helpful event; ours is the latest, the one most likely to
  // match the code running now.
  if (which === 'latest' || which === 'recommended') r = await issueEventAt(ctx.db.pool, issue.project_id, issue.id, 'latest');
  else if (which === 'oldest') r = await issueEventAt(ctx.db.pool, issue.project_id, issue.id, 'oldest');
  else {
    r = await getReport(ctx.db.pool, issue.project_id, which);
    if (r && r.issue_id !== issue.id) r = null;
  }
  if (!r) throw new HttpError('not_found', NOT_FOUND);
  sendJson(res, 200, await fullEvent(ctx, r, issue));
};

/** projects/{org}/{project}/events/: the project's latest events (sentry-cli `events list`). */
export const projectEvents: H = async (ctx, _req, res, params, url, who) => {
  const p = await requireProject(ctx.db.pool, ctx.config, params.org!, params.project!, who);
  const cursor = parseCursor(url.searchParams.get('cursor'));
  const limit = parseLimit(url.searchParams.get('limit') ?? url.searchParams.get('per_page'), 100);
  const { rows, more } = await listProjectEvents(ctx.db.pool, p.id, limit, cursor);
  const body = rows.map((r) => eventListItem(r, { id: r.issue_id, title: r.title, type: r.type, platform: r.platform, culprit: r.culprit }));
  sendJson(res, 200, body, { link: linkHeader(publicRequestUrl(ctx, url), pageLinks(rows, (r) => ({ value: 0, id: r.id }), cursor, more)) });
};

export const projectEvent: H = async (ctx, _req, res, params, _url, who) => {
  const p = await requireProject(ctx.db.pool, ctx.config, params.org!, params.project!, who);
  const r = await getReport(ctx.db.pool, p.id, params.eventId!);
  if (!r) throw new HttpError('not_found', NOT_FOUND);
  sendJson(res, 200, await fullEvent(ctx, r, await getIssue(ctx.db.pool, r.issue_id)));
};

/** organizations/{org}/events/{project_slug}:{event_id}/ */
export const orgEvent: H = async (ctx, req, res, params, url, who) => {
  const ref = params.ref!;
  const i = ref.lastIndexOf(':');
  if (i <= 0) throw new HttpError('not_found', NOT_FOUND);
  return projectEvent(ctx, req, res, { org: params.org!, project: ref.slice(0, i), eventId: ref.slice(i + 1) }, url, who);
};

/** organizations/{org}/eventids/{event_id}/: which project and issue an event id belongs to. */
export const resolveEventId: H = async (ctx, _req, res, params, _url, who) => {
  requireOrg(ctx.config, params.org!);
  for (const p of await visibleProjectRows(ctx.db.pool, who)) {
    const r = await getReport(ctx.db.pool, p.id, params.eventId!);
    if (!r) continue;
    const issue = await getIssue(ctx.db.pool, r.issue_id);
    sendJson(res, 200, {
      organizationSlug: ctx.config.organizationSlug,
      projectSlug: p.slug,
      groupId: String(r.issue_id),
      eventId: r.event_id,
      event: await fullEvent(ctx, r, issue),
    });
    return;
  }
  throw new HttpError('not_found', NOT_FOUND);
};

/** projects/{org}/{project}/events/{event_id}/grouping-info/: the grouping variants of this event. */
export const eventGroupingInfo: H = async (ctx, _req, res, params, _url, who) => {
  const p = await requireProject(ctx.db.pool, ctx.config, params.org!, params.project!, who);
  const ev = await loadEvent(ctx.db.pool, p.id, params.eventId!);
  if (!ev) throw new HttpError('not_found', NOT_FOUND);
  const g = groupEvent(ev, (await projectRules(ctx.db.pool, [p.id]))[p.id]);
  sendJson(res, 200, groupingJson(g.config, g.primaryHash, g.variants));
};

