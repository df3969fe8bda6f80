import type pg from 'pg';
import { hasScope } from '../auth/access.js';
import type { Principal } from '../auth/principal.js';
import { HttpError } from '../http/errors.js';
import { transaction } from '../storage/transaction.js';
import { activityById, type ActivityRow } from '../activity/queries.js';
import { queueNotices } from '../notices/queue.js';

// Comments on an issue. As in Sentry (GroupNote), a comment is an activity entry of type `note` whose
// data.text is the comment: the comment list and the activity log are one table (issue_activity).
// Anyone with event:write comments; only the author edits or deletes a comment, or an admin
// (event:admin) any comment. Text is plain: stored as written, escaped wherever it is shown.

/** The text of a comment as the API or a form gave it; 400 naming COMMENT_MAX_CHARS past the limit. */
export function commentText(value: unknown, maxChars: number): string {
  if (typeof value !== 'string' || !value.trim()) throw new HttpError('invalid_request', 'text: a comment needs some text');
  if (value.length > maxChars) throw new HttpError('invalid_request', `text: a comment has at most ${maxChars} characters (COMMENT_MAX_CHARS), this one ${value.length}`);
  return value;
}

/** Comments need an author: a token made on the host with crash-cache-cli belongs to no user. */
export function authorOf(p: Principal): number {
  if (p.userId === null) throw new HttpError('invalid_request', 'this token belongs to no user (made with crash-cache-cli), and comments need an author; use a token made by a user');
  return p.userId;
}

/** Adds a comment; with `notify` (SMTP_URL is set) queues the e-mail to the issue's other participants in the same transaction. */
export async function addComment(pool: pg.Pool, issue: { project_id: number; id: number }, userId: number, text: string, notify: boolean): Promise<ActivityRow> {
  return transaction(pool, async (client) => {
    // the issue is locked against deletion until the comment is in
    const { rowCount } = await client.query('SELECT 1 FROM issue WHERE project_id = $1 AND id = $2 FOR KEY SHARE', [issue.project_id, issue.id]);
    if (!rowCount) throw new HttpError('not_found', 'The requested resource does not exist');
    const { rows } = await client.query<{ id: string }>(
      `INSERT INTO issue_activity (project_id, issue_id, user_id, type, data) VALUES ($1, $2, $3, 'note', jsonb_build_object('text', $4::text))
       RETURNING id`,
      [issue.project_id, issue.id, userId, text],
    );
    if (notify) await queueNotices(client, [rows[0]!.id]);
    return (await activityById(client, issue, rows[0]!.id))!;
  });
}

/** The comment, when it is one of this issue's and the principal may change it (404 / 403 otherwise). */
async function ownComment(db: pg.Pool | pg.ClientBase, issue: { project_id: number; id: number }, commentId: string, p: Principal): Promise<ActivityRow> {
  const row = /^\d{1,15}$/.test(commentId) ? await activityById(db, issue, commentId) : null;
  if (row?.type !== 'note') throw new HttpError('not_found', 'The requested resource does not exist');
  if (row.user_id === null || Number(row.user_id) !== p.userId) {
    if (!hasScope(p, 'event:admin')) throw new HttpError('forbidden', 'You do not have permission to perform this action: only its author or an admin may change a comment');
  }
  return row;
}

export async function editComment(pool: pg.Pool, issue: { project_id: number; id: number }, commentId: string, p: Principal, text: string): Promise<ActivityRow> {
  const row = await ownComment(pool, issue, commentId, p);
  await pool.query("UPDATE issue_activity SET data = jsonb_set(data, '{text}', to_jsonb($2::text)) WHERE id = $1", [row.id, text]);
  return (await activityById(pool, issue, row.id))!;
}

export async function deleteComment(pool: pg.Pool, issue: { project_id: number; id: number }, commentId: string, p: Principal): Promise<void> {
  const row = await ownComment(pool, issue, commentId, p);
  await pool.query('DELETE FROM issue_activity WHERE id = $1', [row.id]);
}
