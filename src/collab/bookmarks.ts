import type pg from 'pg';

// A user's bookmarks (table issue_bookmark, Sentry's GroupBookmark) and e-mail subscriptions (table
// issue_subscription, Sentry's GroupSubscription): per user, not logged as activity (as in Sentry: they
// are the user's own notes to self).

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

/**
 * A user's choice about an issue's e-mail (table issue_subscription, migrations/0050): on makes them a
 * participant, off takes them out of its comment e-mail whatever they did (src/notices/queue.ts).
 */
export async function setSubscriptions(client: pg.ClientBase, ids: number[], userId: number, on: boolean): Promise<void> {
  await client.query(
    `INSERT INTO issue_subscription (project_id, issue_id, user_id, subscribed)
     SELECT project_id, id, $2, $3 FROM issue WHERE id = ANY($1::bigint[]) ORDER BY id FOR KEY SHARE
     ON CONFLICT (project_id, issue_id, user_id) DO UPDATE SET subscribed = EXCLUDED.subscribed, changed_at = now()`,
    [ids, userId, on],
  );
}
