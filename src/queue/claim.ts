import type pg from 'pg';

// Claiming work (style.md §8): a worker takes the oldest ready rows with FOR UPDATE SKIP LOCKED
// inside its batch transaction and deletes them in that same transaction, so several workers never
// take the same row, and a crash before COMMIT hands the rows back untouched (nothing to clean up).

export interface QueueRow {
  id: number;
  project_id: number;
  archive_id: number;
  attempts: number;
}

/** A claimed queue row with its archive row (null when the archive row is gone: deleted project or retention). */
export interface ClaimedRow<A> {
  queue: QueueRow;
  archive: A | null;
}

/**
 * Locks up to `limit` ready queue rows for the current transaction, oldest first, and reads their
 * archive rows in the same statement (one round trip instead of two). `archiveColumns` are
 * columns of `archive a`.
 */
export async function claimBatch<A>(client: pg.ClientBase, limit: number, archiveColumns: string): Promise<ClaimedRow<A>[]> {
  const { rows } = await client.query<{ q_id: number; q_project_id: number; q_archive_id: number; q_attempts: number; a_found: boolean } & A>({ name: 'queue-claim', text: `WITH q AS (
        SELECT id, project_id, archive_id, attempts FROM queue
         WHERE run_after <= now()
         ORDER BY run_after, id
         LIMIT $1
           FOR UPDATE SKIP LOCKED)
      SELECT q.id AS q_id, q.project_id AS q_project_id, q.archive_id AS q_archive_id, q.attempts AS q_attempts, a.id IS NOT NULL AS a_found, ${archiveColumns}
        FROM q LEFT JOIN archive a ON a.project_id = q.project_id AND a.id = q.archive_id`, values: [limit] });
  return rows.map((r) => ({ queue: { id: r.q_id, project_id: r.q_project_id, archive_id: r.q_archive_id, attempts: r.q_attempts }, archive: r.a_found ? r : null }));
}

/** Removes digested rows (inside the batch transaction). */
export async function deleteQueueRows(client: pg.ClientBase, ids: number[]): Promise<void> {
  // The literal built here: pg would quote and regex-escape every element (see src/storage/pg-array.ts).
  if (ids.length) await client.query({ name: 'queue-delete', text: 'DELETE FROM queue WHERE id = ANY($1::bigint[])', values: [`{${ids.join(',')}}`] });
}

/**
 * Removes digested rows and adds them to the `digested` counter (its slot 0–15), in one statement
 * (inside the batch transaction).
 */
export async function finishQueueRows(client: pg.ClientBase, ids: number[], slot: number): Promise<void> {
  await client.query({ name: 'queue-finish', text: `WITH gone AS (DELETE FROM queue WHERE id = ANY($1::bigint[]))
     INSERT INTO counter (name, slot, value) VALUES ('digested', $2, $3)
     ON CONFLICT (name, slot) DO UPDATE SET value = counter.value + EXCLUDED.value`, values: [`{${ids.join(',')}}`, slot, ids.length] });
}

/** Moves payloads that cannot be processed to queue_error with their reason (inside the batch transaction). */
export async function failQueueRows(client: pg.ClientBase, failed: { row: QueueRow; error: string }[]): Promise<void> {
  if (!failed.length) return;
  await client.query(
    `INSERT INTO queue_error (project_id, archive_id, attempts, error)
     SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::int[], $4::text[])`,
    [failed.map((f) => f.row.project_id), failed.map((f) => f.row.archive_id), failed.map((f) => f.row.attempts + 1), failed.map((f) => f.error.replace(/\0/g, ''))],
  );
  await deleteQueueRows(client, failed.map((f) => f.row.id));
}

/**
 * After a failed attempt: rows that reached `maxAttempts` go to queue_error, the others wait
 * 2^attempts seconds from now (capped at 10 minutes) before they are claimed again. Autocommit, or
 * inside the failed batch's transaction (batch.ts), which still holds the row.
 */
export async function retryLater(pool: pg.Pool | pg.ClientBase, ids: number[], error: string, maxAttempts: number): Promise<void> {
  if (!ids.length) return;
  const err = error.replace(/\0/g, '').slice(0, 2000);
  // One statement; the rows it deletes and the rows it updates are disjoint (a statement must not
  // modify one row twice: PostgreSQL would silently skip the second change).
  await pool.query(
    `WITH cur AS (SELECT id, project_id, archive_id, attempts + 1 AS attempts FROM queue WHERE id = ANY($1::bigint[]) FOR UPDATE),
     moved AS (
       INSERT INTO queue_error (project_id, archive_id, attempts, error)
       SELECT project_id, archive_id, attempts, $2 FROM cur WHERE attempts >= $3),
     gone AS (DELETE FROM queue WHERE id IN (SELECT id FROM cur WHERE attempts >= $3))
     UPDATE queue q SET attempts = cur.attempts, last_error = $2,
            run_after = clock_timestamp() + least(600, power(2, cur.attempts)) * interval '1 second'
       FROM cur WHERE q.id = cur.id AND cur.attempts < $3`,
    [ids, err, maxAttempts],
  );
}

/** Puts payloads back on the queue: listed queue_error ids, or all of them. Returns how many. */
export async function requeueErrors(pool: pg.Pool, ids: number[] | 'all'): Promise<number> {
  const { rowCount } = await pool.query(
    `WITH moved AS (DELETE FROM queue_error WHERE ($1::bigint[] IS NULL OR id = ANY($1::bigint[])) RETURNING project_id, archive_id, id)
     INSERT INTO queue (project_id, archive_id)
     SELECT project_id, archive_id FROM moved m
      WHERE EXISTS (SELECT 1 FROM archive a WHERE a.project_id = m.project_id AND a.id = m.archive_id)
      ORDER BY id`,
    [ids === 'all' ? null : ids],
  );
  if (rowCount) await pool.query("SELECT pg_notify('crash_cache_queue', '')");
  return rowCount ?? 0;
}

export interface QueueErrorRow {
  id: number;
  project_id: number;
  archive_id: number;
  failed_at: Date;
  attempts: number;
  error: string;
}

export async function listErrors(pool: pg.Pool, limit = 100): Promise<QueueErrorRow[]> {
  const { rows } = await pool.query<QueueErrorRow>('SELECT id, project_id, archive_id, failed_at, attempts, error FROM queue_error ORDER BY id DESC LIMIT $1', [limit]);
  return rows;
}

export interface RetryingRow {
  id: number;
  project_id: number;
  archive_id: number;
  attempts: number;
  run_after: Date;
  last_error: string | null;
}

/** Queued payloads that failed at least once and wait for another attempt, next due first. */
export async function listRetrying(pool: pg.Pool, limit = 100): Promise<RetryingRow[]> {
  const { rows } = await pool.query<RetryingRow>('SELECT id, project_id, archive_id, attempts, run_after, last_error FROM queue WHERE attempts > 0 ORDER BY run_after, id LIMIT $1', [limit]);
  return rows;
}
