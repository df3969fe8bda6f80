import type { IncomingMessage, ServerResponse } from 'node:http';
import { checkMergeable, issueFingerprints, mergeIssues, unmergeHashes } from '../api/queries/merge.js';
import type { IssueRow } from '../api/queries/issues.js';
import { requireProjectAccess, requireScope } from '../auth/access.js';
import { HttpError } from '../http/errors.js';
import type { AppContext } from '../context.js';
import { postSession, uiPrincipal } from './auth.js';
import { roleHas } from '../auth/scopes.js';
import { html, type Html } from './html.js';
import { redirect } from './http.js';
import { csrfField } from './layout.js';
import { projectBySlug } from './project-context.js';
import type { Session } from './sessions.js';

// Merge and unmerge in the web UI: the issue list's checkboxes and "Merge" button, the issue page's
// fingerprints with an "Unmerge" button each. Members and above (event:write); every POST carries
// the session's CSRF token. The work is the API's (src/api/queries/merge.ts).

/** Whether this session may merge and unmerge (members and above). */
export function canMerge(session: Session): boolean {
  return roleHas(session.user.role, 'event:write');
}

/** The issue list's merge form; its checkboxes (mergeBox) sit in the table rows and name it with form="merge-form". */
export function mergeForm(slug: string, session: Session): Html {
  return html`<form id="merge-form" class="actions" method="post" action="/projects/${encodeURIComponent(slug)}/issues/merge">${csrfField(session)}<button type="submit">Merge selected</button> <span class="muted">into the one with the most events</span></form>`;
}

export function mergeBox(issue: IssueRow): Html {
  return html`<td><input type="checkbox" name="id" value="${String(issue.id)}" form="merge-form" aria-label="select ${issue.title}"></td>`;
}

/** POST /projects/:slug/issues/merge: the checked issues (id=…) become one; then that issue's page. */
export async function postMerge(ctx: AppContext, req: IncomingMessage, res: ServerResponse, slug: string): Promise<void> {
  const { session, form } = await postSession(ctx, req);
  const principal = await uiPrincipal(ctx, session);
  const project = await projectBySlug(ctx, slug, session, 'event:write');
  const ids = form.getAll('id');
  if (!ids.every((i) => /^\d{1,15}$/.test(i))) throw new HttpError('invalid_request', 'id must be issue ids');
  const { rows } = await ctx.db.pool.query<{ project_id: number }>('SELECT project_id FROM issue WHERE id = ANY($1::bigint[])', [ids.map(Number)]);
  checkMergeable(rows);
  if (rows.some((r) => Number(r.project_id) !== Number(project.id))) throw new HttpError('invalid_request', `those issues are not all of project ${project.slug}`);
  const m = await mergeIssues(ctx.db.pool, ids.map(Number), principal.userId);
  redirect(res, `/issues/${m.parent}`);
}

/** The issue page's "Fingerprints": its own primary hash and those merges brought in, each with an Unmerge button. */
export async function fingerprintSection(ctx: AppContext, session: Session, issue: IssueRow): Promise<Html> {
  const prints = await issueFingerprints(ctx.db.pool, issue.project_id, issue.id, issue.primary_hash);
  if (prints.length < 2) return html``;
  const may = canMerge(session);
  return html`<h2>Fingerprints</h2>
<p class="muted">This issue was merged from ${String(prints.length)} issues. Unmerging a fingerprint moves its events back out into a new issue.</p>
<table class="fingerprints"><tbody>${prints.map((f) => html`<tr><td class="mono">${f.hash}</td><td>${f.merged
  ? (may ? html`<form method="post" action="/issues/${String(issue.id)}/unmerge">${csrfField(session)}<input type="hidden" name="hash" value="${f.hash}"><button type="submit">Unmerge</button></form>` : '')
  : html`<span class="muted">this issue's own</span>`}</td></tr>`)}</tbody></table>`;
}

/** POST /issues/:id/unmerge (hash=…): that fingerprint's events become a new issue; then its page. */
export async function postUnmerge(ctx: AppContext, req: IncomingMessage, res: ServerResponse, id: string): Promise<void> {
  const { session, form } = await postSession(ctx, req);
  const principal = await uiPrincipal(ctx, session);
  requireScope(principal, 'event:write');
  if (!/^\d{1,15}$/.test(id)) throw new HttpError('not_found', `no issue ${id}`);
  const { rows } = await ctx.db.pool.query<{ project_id: number }>('SELECT project_id FROM issue WHERE id = $1', [id]);
  if (!rows[0]) throw new HttpError('not_found', `no issue ${id}`);
  requireProjectAccess(principal, rows[0].project_id);
  const u = await unmergeHashes(ctx.db.pool, Number(id), form.getAll('hash'), principal.userId);
  redirect(res, `/issues/${u.destination}`);
}
