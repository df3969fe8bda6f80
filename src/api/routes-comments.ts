import type { Principal } from '../auth/principal.js';
import type { AppContext } from '../context.js';
import { listActivity, serializeActivity } from '../activity/queries.js';
import { addComment, authorOf, commentText, deleteComment, editComment } from '../collab/comments.js';
import { noticesOn } from '../notices/queue.js';
import { sendJson } from '../http/respond.js';
import type { Params } from '../http/router.js';
import { readJsonBody } from './body.js';
import { requireIssue, requireOrg } from './lookup.js';
import type { ApiHandler } from './routes.js';
import { linkHeader, offsetPage, parseCursor, parseLimit } from './pagination.js';
import type { IssueRow } from './queries/issues.js';
import { publicRequestUrl } from './routes-org.js';

// Sentry's issue comments (GroupNotesEndpoint): GET/POST issues/{id}/comments/ and
// PUT/DELETE issues/{id}/comments/{comment_id}/, also under organizations/{org}/. A comment is an
// activity entry of type `note` (src/collab/comments.ts) and is answered in the activity shape.

type H = ApiHandler;

/** Comments listed per issue, newest first; more than this stay in the table, unlisted. */
const MAX_LISTED = 1000;

async function issueOf(ctx: AppContext, params: Params, p: Principal): Promise<IssueRow> {
  if (params.org !== undefined) requireOrg(ctx.config, params.org);
  return requireIssue(ctx.db.pool, params.issueId!, p);
}

export const list: H = async (ctx, _req, res, params, url, p) => {
  const issue = await issueOf(ctx, params, p);
  const all = await listActivity(ctx.db.pool, issue, { type: 'note', limit: MAX_LISTED });
  const { rows, links } = offsetPage(all, parseCursor(url.searchParams.get('cursor')), parseLimit(url.searchParams.get('limit') ?? url.searchParams.get('per_page'), 100));
  sendJson(res, 200, rows.map(serializeActivity), { link: linkHeader(publicRequestUrl(ctx, url), links) });
};

export const create: H = async (ctx, req, res, params, _url, p) => {
  const issue = await issueOf(ctx, params, p);
  const body = await readJsonBody(req);
  const text = commentText(body.text, ctx.config.commentMaxChars);
  sendJson(res, 201, serializeActivity(await addComment(ctx.db.pool, issue, authorOf(p), text, noticesOn(ctx.config))));
};

export const update: H = async (ctx, req, res, params, _url, p) => {
  const issue = await issueOf(ctx, params, p);
  const body = await readJsonBody(req);
  const text = commentText(body.text, ctx.config.commentMaxChars);
  sendJson(res, 200, serializeActivity(await editComment(ctx.db.pool, issue, params.commentId!, p, text)));
};

export const remove: H = async (ctx, _req, res, params, _url, p) => {
  const issue = await issueOf(ctx, params, p);
  await deleteComment(ctx.db.pool, issue, params.commentId!, p);
  res.writeHead(204).end();
};
