import type pg from 'pg';

// A user's bookmarks (table issue_bookmark, Sentry's GroupBookmark): per user, not logged as activity
// (as in Sentry: a bookmark is the user's own note to self).

export async function setBookmarks(client: pg.ClientBase, ids: number[], userId: number, on: boolean): Promise<void> {
  if (on) {
    await client.query(
      `INSERT INTO issue_bookmark (project_id, issue_id, user_id)
       SELECT project_id, id, $2 FROM issue WHERE id = ANY($1::bigint[]) ORDER BY id FOR KEY SHARE
       ON CONFLICT DO NOTHING`,
      [ids, userId],
    );
  } else {
    await client.query('DELETE FROM issue_bookmark WHERE issue_id = ANY($1::bigint[]) AND user_id = $2', [ids, userId]);
  }
}
