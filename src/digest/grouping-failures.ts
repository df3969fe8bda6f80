import type pg from 'pg';

// Events the grouping engine failed on (computeGrouping returned `error`): each went to the
// fallback issue, shared by every event that fails so, which hides them. So the digest counts them
// in the `counter` table (name `grouping_failed`, in the batch's transaction: exact across
// processes and restarts), logs them, and the API lists the failure in the event's `errors`
// (src/api/routes-events.ts). /health shows the total; groupingFailures() is the one reader.

export const GROUPING_FAILED = 'grouping_failed';

/** The Sentry-shaped processing error an event's `errors` list carries when its grouping failed. */
export function groupingError(message: string): { type: string; message: string; data: { reason: string } } {
  return { type: 'grouping_failed', message: 'Grouping failed: the event was put in the fallback issue', data: { reason: message } };
}

/** Adds `n` failures to slot `slot` (0–15) of the counter (inside the batch transaction). */
export async function countGroupingFailures(client: pg.ClientBase, slot: number, n: number): Promise<void> {
  if (n <= 0) return;
  await client.query(
    `INSERT INTO counter (name, slot, value) VALUES ($1, $2, $3)
     ON CONFLICT (name, slot) DO UPDATE SET value = counter.value + EXCLUDED.value`,
    [GROUPING_FAILED, slot, n],
  );
}

/** Events whose grouping failed, since the database was created (all processes). */
export async function groupingFailures(db: pg.Pool | pg.ClientBase): Promise<number> {
  const { rows } = await db.query<{ n: string }>(`SELECT coalesce(sum(value), 0)::bigint AS n FROM counter WHERE name = $1`, [GROUPING_FAILED]);
  return Number(rows[0]!.n);
}
