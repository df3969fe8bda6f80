import type { IncomingMessage, ServerResponse } from 'node:http';
import { listActivity, type ActivityRow } from '../activity/queries.js';
import { hasScope, requireProjectAccess, requireScope } from '../auth/access.js';
import type { Principal } from '../auth/principal.js';
import { getIssue, type IssueRow } from '../api/queries/issues.js';
import { assignableUsers, assignIssues, resolveAssignee } from '../collab/assignees.js';
import { setBookmarks, setSubscriptions } from '../collab/bookmarks.js';
import { addComment, commentText, deleteComment, editComment } from '../collab/comments.js';
import { noticesOn } from '../notices/queue.js';
import { collabFacts } from '../collab/facts.js';
import type { AppContext } from '../context.js';
import { HttpError } from '../http/errors.js';
import { transaction } from '../storage/transaction.js';
import { postSession, uiPrincipal } from './auth.js';
import { html, type Html } from './html.js';
import { redirect } from './http.js';
import { csrfField } from './layout.js';
import type { Session } from './sessions.js';
import { isoTime, timeEl } from './values.js';

// The issue page's collaboration part: who it is assigned to (a select of the users who can see the
// project, and "Assign to me"), the user's bookmark, the activity timeline with its comments, and the
// comment form. Forms are shown to those with event:write; viewers see the same facts read-only. Every
// POST checks the session's CSRF token, then the scope, then the project, before it changes anything.

/** The rows for the issue's facts list (assignee, bookmark) and the activity section with its comment form. */
export async function collabSection(ctx: AppContext, issue: IssueRow, session: Session, p: Principal): Promise<{ meta: Html; activity: Html }> {
  const pool = ctx.db.pool;
  const [facts, users, activity] = await Promise.all([
    collabFacts(pool, [issue], p.userId),
    assignableUsers(pool, issue.project_id),
    listActivity(pool, issue),
  ]);
  const f = facts.get(issue.id);
  const canWrite = hasScope(p, 'event:write');
  const action = (path: string) => `/issues/${issue.id}/${path}`;
  const assignee = html`<span id="issue-assignee">${f?.assignee ? f.assignee.email : html`<span class="muted">nobody</span>`}</span>`;
  const assignForms = canWrite
    ? html`<form method="post" action="${action('assign')}" class="inline">${csrfField(session)}<label for="assignee" class="sr-only">Assignee</label><select id="assignee" name="assignee"><option value="">Unassigned</option>${users.map(
        (u) => html`<option value="user:${String(u.id)}"${f?.assignee?.id === u.id ? html` selected` : ''}>${u.email}</option>`,
      )}</select> <button type="submit">Assign</button></form>${p.userId !== null && f?.assignee?.id !== p.userId ? html`<form method="post" action="${action('assign')}" class="inline">${csrfField(session)}<input type="hidden" name="assignee" value="user:${String(p.userId)}"><button type="submit">Assign to me</button></form>` : ''}`
    : '';
  const bookmark = canWrite && p.userId !== null
    ? html`<form method="post" action="${action('bookmark')}" class="inline">${csrfField(session)}<input type="hidden" name="bookmarked" value="${f?.bookmarked ? '0' : '1'}"><button type="submit" id="bookmark-toggle">${f?.bookmarked ? '★ Remove bookmark' : '☆ Bookmark'}</button></form>`
    : f?.bookmarked ? html`<span>★ Bookmarked</span>` : '';
  // e-mail about its comments: shown when e-mail can be sent at all
  const subscription = noticesOn(ctx.config) && p.userId !== null
    ? html`<dt>E-mail</dt><dd><form method="post" action="${action('subscription')}" class="inline">${csrfField(session)}<input type="hidden" name="subscribed" value="${f?.subscribed ? '0' : '1'}"><span id="subscription-state">${f?.subscribed ? 'You get e-mail about its comments.' : 'You get no e-mail about its comments.'}</span> <button type="submit" id="subscription-toggle">${f?.subscribed ? 'Unsubscribe' : 'Subscribe'}</button></form></dd>`
    : '';
  const meta = html`<dt>Assigned to</dt><dd>${assignee} ${assignForms}</dd>
  <dt>Bookmark</dt><dd>${bookmark || html`<span class="muted">—</span>`}</dd>${subscription}`;
  return { meta, activity: html`<section class="collab" aria-label="activity">
<h2>Activity</h2>
${activity.length ? html`<ol class="timeline" id="activity">${activity.map((a) => entry(issue, a, session, p))}</ol>` : html`<p class="empty" id="activity">Nothing has happened to this issue yet.</p>`}
${canWrite && p.userId !== null
  ? html`<form method="post" action="${action('comments')}" class="comment-form">${csrfField(session)}<label for="comment-text">Comment</label><textarea id="comment-text" name="text" rows="3" cols="80" maxlength="${String(ctx.config.commentMaxChars)}" required></textarea><button type="submit">Comment</button>${noticesOn(ctx.config) ? html` <span class="muted">@someone@example.com e-mails them; the assignee, earlier commenters and bookmarkers hear of it too.</span>` : ''}</form>`
  : ''}
</section>` };
}

function who(a: ActivityRow): string {
  return a.user_email ?? 'crash-cache';
}

function what(a: ActivityRow): Html {
  const d = a.data;
  switch (a.type) {
    case 'set_resolved':
      return html`resolved this issue`;
    case 'set_resolved_in_release':
      return typeof d.version === 'string' && d.version ? html`resolved this issue in release ${d.version}` : html`resolved this issue in the next release`;
    case 'set_unresolved':
      return html`marked this issue unresolved`;
    case 'set_ignored': {
      const mins = typeof d.ignoreUntil === 'string' ? ` until ${d.ignoreUntil.replace('T', ' ').slice(0, 16)} UTC` : '';
      const count = typeof d.ignoreCount === 'number' ? ` until ${d.ignoreCount} more events` : '';
      const users = typeof d.ignoreUserCount === 'number' ? ` until ${d.ignoreUserCount} more users` : '';
      return html`ignored this issue${mins}${count}${users}`;
    }
    case 'set_regression':
      return html`marked this issue as a regression: a new event came after it was resolved`;
    case 'set_escalating':
      return html`brought this issue back: the condition it was ignored until was met`;
    case 'assigned':
      return html`assigned this issue to ${typeof d.assigneeEmail === 'string' ? d.assigneeEmail : 'a user'}`;
    case 'unassigned':
      return html`unassigned this issue`;
    case 'note':
      return html`commented`;
    default:
      return html`${a.type.replace(/_/g, ' ')}`;
  }
}

function entry(issue: IssueRow, a: ActivityRow, session: Session, p: Principal): Html {
  const mayChange = a.type === 'note' && hasScope(p, 'event:write') && ((a.user_id !== null && Number(a.user_id) === p.userId) || hasScope(p, 'event:admin'));
  const base = `/issues/${issue.id}/comments/${a.id}`;
  const text = typeof a.data.text === 'string' ? a.data.text : '';
  return html`<li class="activity activity-${a.type}" data-activity="${String(a.id)}"><span class="who">${who(a)}</span> ${what(a)} ${timeEl(a.created_at)} <span class="muted">(${isoTime(a.created_at)})</span>${a.type === 'note'
    ? html`<p class="comment">${text}</p>${mayChange
      ? html`<details class="comment-edit"><summary>Edit</summary><form method="post" action="${base}/edit">${csrfField(session)}<textarea name="text" rows="3" cols="80" required>${text}</textarea><button type="submit">Save</button></form></details><form method="post" action="${base}/delete" class="inline">${csrfField(session)}<button type="submit">Delete</button></form>`
      : ''}`
    : ''}</li>`;
}

/** A POST of this part: CSRF, `scope` (event:write; event:read for what only concerns the user), the issue and its project, in that order. */
async function writer(ctx: AppContext, req: IncomingMessage, id: string, scope: 'event:write' | 'event:read' = 'event:write'): Promise<{ form: URLSearchParams; p: Principal; issue: IssueRow }> {
  const { session, form } = await postSession(ctx, req);
  const p = await uiPrincipal(ctx, session);
  requireScope(p, scope);
  const issue = /^\d{1,18}$/.test(id) ? await getIssue(ctx.db.pool, id) : null;
  if (!issue) throw new HttpError('not_found', `no issue ${id}`);
  requireProjectAccess(p, issue.project_id);
  return { form, p, issue };
}

export async function postAssign(ctx: AppContext, req: IncomingMessage, res: ServerResponse, id: string): Promise<void> {
  const { form, p, issue } = await writer(ctx, req, id);
  const assignee = await resolveAssignee(ctx.db.pool, form.get('assignee') ?? '', [{ id: issue.project_id, slug: issue.project_slug }]);
  await transaction(ctx.db.pool, (client) => assignIssues(client, [issue.id], assignee, p.userId, noticesOn(ctx.config)));
  redirect(res, `/issues/${issue.id}`);
}

export async function postBookmark(ctx: AppContext, req: IncomingMessage, res: ServerResponse, id: string): Promise<void> {
  const { form, p, issue } = await writer(ctx, req, id);
  if (p.userId === null) throw new HttpError('invalid_request', 'bookmarks are per user');
  const on = form.get('bookmarked');
  if (on !== '1' && on !== '0') throw new HttpError('invalid_request', 'bookmarked must be 1 or 0');
  await transaction(ctx.db.pool, (client) => setBookmarks(client, [issue.id], p.userId!, on === '1'));
  redirect(res, `/issues/${issue.id}`);
}

/** The user's e-mail subscription to the issue's comments (any role: it only concerns them). */
export async function postSubscription(ctx: AppContext, req: IncomingMessage, res: ServerResponse, id: string): Promise<void> {
  const { form, p, issue } = await writer(ctx, req, id, 'event:read');
  if (p.userId === null) throw new HttpError('invalid_request', 'subscriptions are per user');
  const on = form.get('subscribed');
  if (on !== '1' && on !== '0') throw new HttpError('invalid_request', 'subscribed must be 1 or 0');
  await transaction(ctx.db.pool, (client) => setSubscriptions(client, [issue.id], p.userId!, on === '1'));
  redirect(res, `/issues/${issue.id}`);
}

export async function postComment(ctx: AppContext, req: IncomingMessage, res: ServerResponse, id: string): Promise<void> {
  const { form, p, issue } = await writer(ctx, req, id);
  if (p.userId === null) throw new HttpError('invalid_request', 'comments need an author');
  await addComment(ctx.db.pool, issue, p.userId, commentText(form.get('text'), ctx.config.commentMaxChars), noticesOn(ctx.config));
  redirect(res, `/issues/${issue.id}#activity`);
}

export async function postCommentEdit(ctx: AppContext, req: IncomingMessage, res: ServerResponse, id: string, commentId: string): Promise<void> {
  const { form, p, issue } = await writer(ctx, req, id);
  await editComment(ctx.db.pool, issue, commentId, p, commentText(form.get('text'), ctx.config.commentMaxChars));
  redirect(res, `/issues/${issue.id}#activity`);
}

export async function postCommentDelete(ctx: AppContext, req: IncomingMessage, res: ServerResponse, id: string, commentId: string): Promise<void> {
  const { p, issue } = await writer(ctx, req, id);
  await deleteComment(ctx.db.pool, issue, commentId, p);
  redirect(res, `/issues/${issue.id}#activity`);
}
