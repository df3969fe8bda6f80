import { transaction } from '../storage/transaction.js';
import type pg from 'pg';
import { QUEUE_CHANNEL } from '../queue/listen.js';
import { BatchError, DIGEST_LOCK, digestBatch } from './batch.js';
import { DimCache } from './dims.js';
import { sharedSymbolicator } from '../sourcemaps/shared.js';

// Rebuilds everything derived from the archive. One transaction, holding the digest lock
// exclusively (workers hold it shared per batch, so it waits for batches in flight and pauses the
// others): remember issue ids, short ids and statuses (issue_keep), empty the derived tables,
// re-enqueue every archived payload in received order, bump digest_state.generation (workers drop
// their dimension caches). Then digest the queue here, alongside any running workers.

export const DERIVED_TABLES = [
  'report', 'issue', 'issue_hash', 'issue_user', 'issue_tag', 'issue_delta', 'session_state', 'session_hourly', 'session_user_hourly',
  'client_report_hourly', 'item_count_hourly', 'item_invalid', 'user_report', 'attachment', 'check_in', 'dim', 'project_dim', 'tag_value',
];

/** Empties the derived tables and re-enqueues the archive. Returns the number of payloads queued. */
export async function resetDigest(pool: pg.Pool): Promise<number> {
  return transaction(pool, async (client) => {
    await client.query('SELECT pg_advisory_xact_lock($1)', [DIGEST_LOCK]);
    await client.query('DELETE FROM issue_keep');
    await client.query(
      `INSERT INTO issue_keep (project_id, primary_hash, id, short_id, status, substatus, resolved_at, status_changed_at, snooze, resolution)
       SELECT project_id, primary_hash, id, short_id, status, substatus, resolved_at, status_changed_at,
              CASE WHEN status = 'ignored' AND snooze_details IS NOT NULL THEN jsonb_build_object(
                'until', snooze_until, 'count', snooze_count, 'window', snooze_window, 'users', snooze_users,
                'base_events', snooze_base_events, 'base_users', snooze_base_users, 'details', snooze_details) END,
              CASE WHEN status = 'resolved' AND resolved_next IS NOT NULL THEN jsonb_build_object('release', resolved_in_release, 'next', resolved_next) END
         FROM issue`);
    // Issue ids are not restarted: kept issues reuse theirs, new ones continue after them.
    await client.query(`TRUNCATE ${DERIVED_TABLES.join(', ')}`);
    await client.query('ALTER TABLE dim ALTER COLUMN id RESTART; ALTER TABLE project_dim ALTER COLUMN id RESTART; ALTER TABLE tag_value ALTER COLUMN id RESTART');
    await client.query('DELETE FROM queue');
    await client.query('DELETE FROM queue_error');
    const { rowCount } = await client.query('INSERT INTO queue (project_id, archive_id) SELECT project_id, id FROM archive ORDER BY received_at, id');
    await client.query('UPDATE digest_state SET generation = generation + 1');
    await client.query(`NOTIFY ${QUEUE_CHANNEL}`);
    return rowCount ?? 0;
  });
}

/** What a drain did: payloads digested, and those that failed and wait for a retry (by a worker). */
export interface Drained {
  digested: number;
  waiting: number;
}

/**
 * Digests until the queue has no ready rows; calls `progress(remaining)` after each batch. A batch
 * that fails in the database is retried payload by payload, as the worker does (worker.ts): a
 * payload failing alone has its attempt recorded and waits for its retry (2 s, then a worker's), so
 * one bad payload no longer stops a rebuild of the whole archive. Without `maxAttempts`
 * (WORKER_MAX_ATTEMPTS) such a payload ends the drain with its error.
 */
export async function drainQueue(pool: pg.Pool, opts: { batchSize: number; maxBytes: number; scrubMaxDepth?: number; maxAttempts?: number }, progress: (remaining: number) => void = () => {}): Promise<Drained> {
  const cache = new DimCache();
  let done = 0;
  let singles = 0; // payloads still to digest one at a time after a failed batch
  for (let failures = 0; ; ) {
    const client = await pool.connect();
    try {
      // with source maps, as the workers do: an event must group the same whoever digests it
      const r = await digestBatch(client, { ...opts, batchSize: singles > 0 ? 1 : opts.batchSize, cache, symbolicator: sharedSymbolicator() });
      failures = 0;
      done += r.claimed;
      if (singles > 0) singles -= r.claimed;
      if (r.claimed === 0) {
        singles = 0;
        // Other workers may still hold batches: wait for them to finish.
        const { rows } = await client.query<{ ready: number; waiting: number }>(
          'SELECT count(*) FILTER (WHERE run_after <= now())::int AS ready, count(*) FILTER (WHERE attempts > 0)::int AS waiting FROM queue');
        if (rows[0]!.ready === 0) return { digested: done, waiting: rows[0]!.waiting };
        await new Promise((res) => setTimeout(res, 200));
      }
      const { rows } = await client.query<{ n: number }>('SELECT count(*)::int AS n FROM queue');
      progress(rows[0]!.n);
    } catch (e) {
      if (!(e instanceof BatchError)) throw e;
      const next = e.next;
      if (next === 'later') {
        if (++failures > 5) throw e;
        await new Promise((res) => setTimeout(res, 500 * failures));
      } else if (next === 'one-by-one') singles = e.claimed.length;
      else if (next === 'recorded') singles = Math.max(0, singles - 1);
      else throw e;
    } finally {
      client.release();
    }
  }
}
