import type pg from 'pg';

// SQL of the rate limiter: the shared spend table (see migrations/0004_outcomes.sql) and the
// per-project override.

type Db = pg.Pool | pg.ClientBase;

/** Adds this process's consumption since the last call; sorted keys keep lock order stable. */
export async function addSpend(db: Db, processId: string, keys: string[], tokens: number[]): Promise<void> {
  await db.query(
    `INSERT INTO rate_limit_spend (key, process_id, spent, last_spent, updated_at)
     SELECT k, $1, n, n, now() FROM unnest($2::text[], $3::bigint[]) AS t(k, n) ORDER BY k
     ON CONFLICT (key, process_id) DO UPDATE
       SET spent = rate_limit_spend.spent + EXCLUDED.spent, last_spent = EXCLUDED.spent, updated_at = now()`,
    [processId, keys, tokens],
  );
}

export interface SpendRow {
  key: string;
  process_id: string;
  spent: number;
  last_spent: number;
}

/**
 * Other processes' rows changed in the last few seconds. The window is much longer than the sync
 * interval (500 ms) so a row written by a transaction that committed late, or read by a process
 * that stalled, is still seen; rows read twice cost nothing (deltas against the last value seen).
 */
export async function recentSpend(db: Db, processId: string, windowSecs = 5): Promise<SpendRow[]> {
  const { rows } = await db.query<SpendRow>(
    `SELECT key, process_id::text, spent, last_spent FROM rate_limit_spend
      WHERE process_id <> $1 AND updated_at > now() - make_interval(secs => $2)`,
    [processId, windowSecs],
  );
  return rows;
}

export async function deleteIdleSpend(db: Db, idleSecs = 60): Promise<void> {
  await db.query(`DELETE FROM rate_limit_spend WHERE updated_at < now() - make_interval(secs => $1)`, [idleSecs]);
}

/** Sets a project's requests/second: a number (0 = unlimited) or null = RATE_LIMIT_PER_PROJECT_PER_SEC. */
export async function setProjectRateLimit(db: Db, projectId: number, perSec: number | null): Promise<boolean> {
  const r = await db.query('UPDATE project SET rate_limit_per_sec = $2 WHERE id = $1', [projectId, perSec]);
  return (r.rowCount ?? 0) > 0;
}
