import type pg from 'pg';

// The few reads only the UI makes (everything issue-shaped comes from src/api/queries): items and
// payloads the digest could not use, shown on the outcomes page next to the outcome counts.

export interface DroppedItem {
  received_at: Date;
  item_type: string;
  reason: string;
}

/** Newest items the digest found invalid (item_invalid, migration 0002). */
export async function recentInvalidItems(pool: pg.Pool, projectId: number, since: Date, limit = 50): Promise<DroppedItem[]> {
  const { rows } = await pool.query<DroppedItem>(
    `SELECT received_at, item_type, reason FROM item_invalid
      WHERE project_id = $1 AND received_at >= $2 ORDER BY received_at DESC LIMIT $3`,
    [projectId, since, limit],
  );
  return rows;
}

/** Newest whole payloads the digest gave up on (queue_error, migration 0001). */
export async function recentQueueErrors(pool: pg.Pool, projectId: number, since: Date, limit = 50): Promise<{ failed_at: Date; attempts: number; error: string }[]> {
  const { rows } = await pool.query<{ failed_at: Date; attempts: number; error: string }>(
    `SELECT failed_at, attempts, error FROM queue_error
      WHERE project_id = $1 AND failed_at >= $2 ORDER BY failed_at DESC LIMIT $3`,
    [projectId, since, limit],
  );
  return rows;
}

/** Values seen for a tag in a project (environment, release), for the stream's filter menus. */
export async function tagValues(pool: pg.Pool, projectId: number, key: string, limit = 200): Promise<string[]> {
  const { rows } = await pool.query<{ value: string }>(
    'SELECT value FROM tag_value WHERE project_id = $1 AND key = $2 ORDER BY value DESC LIMIT $3',
    [projectId, key, limit],
  );
  return rows.map((r) => r.value);
}

/** Why an issue's events group together: the grouping explanation the digest stored with the issue. */
export async function issueGrouping(pool: pg.Pool, projectId: number, issueId: number): Promise<unknown> {
  const { rows } = await pool.query<{ grouping: unknown }>('SELECT grouping FROM issue WHERE project_id = $1 AND id = $2', [projectId, issueId]);
  return rows[0]?.grouping ?? null;
}

/** Items kept in the archive but not processed (transactions, spans, logs, replays, ...) per category. */
export async function unprocessedItems(pool: pg.Pool, projectId: number, since: Date): Promise<{ category: string; items: number; bytes: number }[]> {
  const { rows } = await pool.query<{ category: string; items: number; bytes: number }>(
    `SELECT category, sum(items)::bigint AS items, sum(bytes)::bigint AS bytes FROM item_count_hourly
      WHERE project_id = $1 AND hour >= date_trunc('hour', $2::timestamptz) GROUP BY category ORDER BY 2 DESC`,
    [projectId, since],
  );
  return rows.map((r) => ({ category: r.category, items: Number(r.items), bytes: Number(r.bytes) }));
}
