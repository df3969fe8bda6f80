import type pg from 'pg';
import type { Cursor } from '../pagination.js';

// User feedback rows (legacy user_report items and feedback events, both in `user_report`), newest
// first, with the issue of the event they are about when that event is known. Newest means received
// last: ordered by the archive row they came in (ingest's order), then by id (item order within one
// payload). Not by id alone: two digest lanes may insert feedback from different payloads in either
// order (test/api/extras.test.ts saw it on a busy machine). Keyset pages on (archive_id, id).

export interface FeedbackRow {
  id: number;
  archive_id: number;
  kind: 'user_report' | 'feedback';
  event_id: string | null;
  feedback_id: string | null;
  name: string | null;
  email: string | null;
  comments: string;
  url: string | null;
  received_at: Date;
  issue_id: number | null;
}

export async function listFeedback(
  pool: pg.Pool,
  q: { projectId: number; issueId?: number; limit: number; cursor: Cursor | null },
): Promise<{ rows: FeedbackRow[]; more: boolean }> {
  const params: unknown[] = [q.projectId];
  const where = ['u.project_id = $1'];
  if (q.issueId !== undefined) {
    params.push(q.issueId);
    where.push(`r.issue_id = $${params.length}`);
  }
  const back = q.cursor?.isPrev ?? false;
  if (q.cursor) {
    params.push(q.cursor.value, q.cursor.id);
    where.push(`(u.archive_id, u.id) ${back ? '>' : '<'} ($${params.length - 1}, $${params.length})`);
  }
  params.push(q.limit + 1);
  // Driven from user_report (few rows per project) through report's (project_id, event_id) key.
  const { rows } = await pool.query<FeedbackRow>(
    `SELECT u.id, u.archive_id, u.kind, replace(u.event_id::text, '-', '') AS event_id, replace(u.feedback_id::text, '-', '') AS feedback_id,
            u.name, u.email, u.comments, u.url, u.received_at, r.issue_id
       FROM user_report u
       ${q.issueId !== undefined ? 'JOIN' : 'LEFT JOIN'} report r ON r.project_id = u.project_id AND r.event_id = u.event_id
      WHERE ${where.join(' AND ')}
      ORDER BY u.archive_id ${back ? 'ASC' : 'DESC'}, u.id ${back ? 'ASC' : 'DESC'}
      LIMIT $${params.length}`,
    params,
  );
  const more = rows.length > q.limit;
  const page = rows.slice(0, q.limit);
  if (back) page.reverse();
  return { rows: page, more };
}
