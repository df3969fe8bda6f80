import type pg from 'pg';

// What of one project the digest has not processed yet, for the pages people read during a burst: a
// default process on 2 cores keeps up with ~900–1,600 events/s and queues the rest (docs/SCALING.md),
// so for minutes the issue list can lag what was accepted. Both counts stop at COUNT_CAP, so a
// page costs at most that many index entries of `queue (project_id, archive_id)` and
// `queue_error (project_id, failed_at)`. The oldest payload is the one with the lowest queue id.

/** Counts stop here: "more than 100,000" says enough, and counting further costs every page view. */
export const COUNT_CAP = 100_000;

export interface ProjectBacklog {
  /** Payloads waiting for the digest (at most COUNT_CAP; `queuedCapped` when there are more). */
  queued: number;
  queuedCapped: boolean;
  /** Of those counted, payloads that failed to digest and wait for another attempt (WORKER_MAX_ATTEMPTS). */
  retrying: number;
  /** Seconds since the oldest waiting payload was received; null when none waits. */
  oldestSecs: number | null;
  /** Payloads the digest gave up on (queue_error; `crash-cache-cli queue errors`), at most COUNT_CAP. */
  failed: number;
  failedCapped: boolean;
}

/**
 * SQL: seconds the oldest queued payload (of those `where` selects) has waited, NULL when none waits.
 * The oldest is the lowest queue id: ids grow with enqueue time, a payload put back by `queue retry`
 * included (a new row), so the primary key finds it without reading the queue. /health and the
 * scrape-time metrics read it too.
 */
export const oldestQueuedSecsSql = (where = ''): string => `(SELECT extract(epoch FROM now() - enqueued_at) FROM queue ${where} ORDER BY id LIMIT 1)`;

/**
 * SQL, a FROM item `q`: the queued payloads (`queued`) and those of them that failed at least once
 * and wait for another attempt (`retrying`; they reach queue_error after WORKER_MAX_ATTEMPTS), in one
 * scan of the queue. /health and the scrape-time metrics read it.
 */
export const QUEUE_COUNTS_FROM = '(SELECT count(*) AS queued, count(*) FILTER (WHERE attempts > 0) AS retrying FROM queue) q';

const SQL = `SELECT q.queued::int, q.retrying::int,
  ${oldestQueuedSecsSql('WHERE project_id = $1')}::float8 AS oldest_secs,
  (SELECT count(*) FROM (SELECT 1 FROM queue_error WHERE project_id = $1 LIMIT $2) e)::int AS failed
  FROM (SELECT count(*) AS queued, count(*) FILTER (WHERE attempts > 0) AS retrying
          FROM (SELECT attempts FROM queue WHERE project_id = $1 LIMIT $2) x) q`;

export async function projectBacklog(db: pg.Pool | pg.ClientBase, projectId: number): Promise<ProjectBacklog> {
  const { rows } = await db.query<{ queued: number; retrying: number; oldest_secs: number | null; failed: number }>({ name: 'project-backlog', text: SQL, values: [projectId, COUNT_CAP + 1] });
  const r = rows[0]!;
  return {
    queued: Math.min(r.queued, COUNT_CAP),
    queuedCapped: r.queued > COUNT_CAP,
    retrying: Math.min(r.retrying, COUNT_CAP),
    oldestSecs: r.oldest_secs === null ? null : Math.max(0, r.oldest_secs),
    failed: Math.min(r.failed, COUNT_CAP),
    failedCapped: r.failed > COUNT_CAP,
  };
}
