import type pg from 'pg';
import { gauge } from './index.js';
import { oldestQueuedSecsSql, QUEUE_COUNTS_FROM } from '../queue/backlog.js';

// Metrics read from the database when Prometheus scrapes (not counted in memory: several processes
// share one queue and one alert outbox, and each reports the same totals). One statement per scrape,
// bounded by SCRAPE_TIMEOUT_MS; when it fails, crash_cache_database_up is 0 and the other values
// keep their last reading.

const SCRAPE_TIMEOUT_MS = 2000;

// count(*) walks the queue: small in a healthy install (it drains in seconds); during a large
// backlog a scrape costs more, bounded by the timeout. The oldest payload is found by the primary key.
// alert_outbox's and notice_outbox's pending and failed rows are read through their partial indexes
// (…_due, …_finished).
const SQL = `SET LOCAL statement_timeout = ${SCRAPE_TIMEOUT_MS};
  SELECT q.queued::float8 AS queued, q.retrying::float8 AS retrying,
         coalesce(${oldestQueuedSecsSql()}, 0)::float8 AS oldest_secs,
         (SELECT count(*) FROM queue_error)::float8 AS queue_errors,
         (SELECT count(*) FROM alert_outbox WHERE status = 'pending')::float8 AS alerts_pending,
         (SELECT count(*) FROM alert_outbox WHERE status = 'failed')::float8 AS alerts_failed,
         (SELECT count(*) FROM notice_outbox WHERE status = 'pending')::float8 AS notices_pending,
         (SELECT count(*) FROM notice_outbox WHERE status = 'failed')::float8 AS notices_failed
    FROM ${QUEUE_COUNTS_FROM}`;

interface Reading { queued: number; retrying: number; oldest_secs: number; queue_errors: number; alerts_pending: number; alerts_failed: number; notices_pending: number; notices_failed: number }

/** Registers the scrape-time gauges over `pool` (the process's pool; one per process). */
export function registerDatabaseMetrics(pool: pg.Pool): void {
  // prom-client collects every metric of a scrape at once; the gauges below share one reading.
  let inflight: Promise<void> | null = null;
  const read = (): Promise<void> => (inflight ??= readAll().finally(() => (inflight = null)));
  const collect = async () => read();
  const up = gauge('crash_cache_database_up', 'Whether the scrape-time query answered (1) or failed (0).', [], collect);
  const queued = gauge('crash_cache_queue_depth', 'Payloads waiting in the digest queue.', [], collect);
  const oldest = gauge('crash_cache_queue_oldest_age_seconds', 'Age of the oldest payload in the digest queue (0 when empty).', [], collect);
  const retrying = gauge('crash_cache_queue_retrying', 'Queued payloads that failed to digest and wait for another attempt (queue_error after WORKER_MAX_ATTEMPTS).', [], collect);
  const queueErrors = gauge('crash_cache_queue_errors', 'Payloads the digest gave up on (queue_error; `queue retry` moves them back).', [], collect);
  const alerts = gauge('crash_cache_alerts', 'Alert deliveries by status: pending (due or retrying) and failed (given up; kept ALERT_RETENTION_DAYS).', ['status'], collect);
  const notices = gauge('crash_cache_issue_emails', 'E-mails about issues (assignments, comments) by status: pending (due or retrying) and failed (given up or not wanted any more; kept ALERT_RETENTION_DAYS).', ['status'], collect);
  gauge('crash_cache_db_pool_connections', "This process's database pool: connections in use, idle, and requests waiting for one.", ['state'], function () {
    this.set({ state: 'in_use' }, pool.totalCount - pool.idleCount);
    this.set({ state: 'idle' }, pool.idleCount);
    this.set({ state: 'waiting' }, pool.waitingCount);
  });

  async function readAll(): Promise<void> {
    const client = await pool.connect().catch(() => null);
    if (!client) return void up.set(0);
    let broken: Error | undefined;
    try {
      const results = (await client.query(`BEGIN READ ONLY; ${SQL}; COMMIT`)) as unknown as pg.QueryResult<Reading>[];
      const r = results.find((x) => x.command === 'SELECT')!.rows[0]!;
      queued.set(r.queued);
      retrying.set(r.retrying);
      oldest.set(r.oldest_secs);
      queueErrors.set(r.queue_errors);
      alerts.set({ status: 'pending' }, r.alerts_pending);
      alerts.set({ status: 'failed' }, r.alerts_failed);
      notices.set({ status: 'pending' }, r.notices_pending);
      notices.set({ status: 'failed' }, r.notices_failed);
      up.set(1);
    } catch (e) {
      broken = e as Error;
      await client.query('ROLLBACK').catch(() => {});
      up.set(0);
    } finally {
      client.release(broken);
    }
  }
}
