
import { sendJson } from '../http/respond.js';
import type { AppContext } from '../context.js';
import type { ApiHandler } from './routes.js';
import { requireIssue, requireOrg, requireProject } from './lookup.js';
import { linkHeader, pageLinks, parseCursor, parseLimit } from './pagination.js';
import { listFeedback, type FeedbackRow } from './queries/feedback.js';
import { getIssue } from './queries/issues.js';
import { publicRequestUrl } from './routes-org.js';
import { serializeFeedback } from './serialize-feedback.js';
import { serializeIssue } from './serialize-issue.js';

// User feedback: a project's (legacy user reports and feedback events alike), and an issue's (the
// feedback about its events: Sentry's issues/{id}/user-reports/).

type H = ApiHandler;

function page(url: URL) {
  return {
    cursor: parseCursor(url.searchParams.get('cursor')),
    limit: parseLimit(url.searchParams.get('limit') ?? url.searchParams.get('per_page'), 100),
  };
}

function links(ctx: AppContext, url: URL, rows: FeedbackRow[], cursor: ReturnType<typeof parseCursor>, more: boolean) {
  return { link: linkHeader(publicRequestUrl(ctx, url), pageLinks(rows, (r) => ({ value: Number(r.archive_id), id: Number(r.id) }), cursor, more)) };
}

/** projects/{org}/{project}/user-feedback/: with `issue` (Sentry's group JSON) when the event is known. */
export const projectFeedback: H = async (ctx, _req, res, params, url, who) => {
  const p = await requireProject(ctx.db.pool, ctx.config, params.org!, params.project!, who);
  const { cursor, limit } = page(url);
  const { rows, more } = await listFeedback(ctx.db.pool, { projectId: p.id, limit, cursor });
  const issues = new Map<number, Record<string, unknown> | null>();
  for (const id of new Set(rows.map((r) => r.issue_id).filter((x): x is number => x !== null))) {
    const row = await getIssue(ctx.db.pool, id);
    issues.set(id, row ? serializeIssue(ctx.config, row) : null);
  }
  const body = rows.map((r) => serializeFeedback(r, r.issue_id === null ? null : (issues.get(r.issue_id) ?? null)));
  sendJson(res, 200, body, links(ctx, url, rows, cursor, more));
};

/** issues/{id}/user-reports/ */
export const issueFeedback: H = async (ctx, _req, res, params, url, who) => {
  if (params.org !== undefined) requireOrg(ctx.config, params.org);
  const issue = await requireIssue(ctx.db.pool, params.issueId!, who);
  const { cursor, limit } = page(url);
  const { rows, more } = await listFeedback(ctx.db.pool, { projectId: issue.project_id, issueId: issue.id, limit, cursor });
  sendJson(res, 200, rows.map((r) => serializeFeedback(r)), links(ctx, url, rows, cursor, more));
};
