import type { Router } from '../http/router.js';
import { sendJson } from '../http/respond.js';
import type { AppContext } from '../context.js';
import { outcomeTotals } from '../outcomes/queries.js';
import { GROUPING_FAILED } from '../digest/grouping-failures.js';
import { deletions24h } from '../archive/retention/pass.js';
import { diskBytes } from '../archive/retention/size.js';
import { oldestQueuedSecsSql, QUEUE_COUNTS_FROM } from '../queue/backlog.js';

// GET /health: liveness plus the counts an operator watches (`queue_oldest_secs`: how long the oldest
// queued payload has waited, src/queue/backlog.ts; `retrying`: queued payloads that failed to digest
// and wait for another attempt, `failed` those it gave up on), and the pid of the process that answered
// (one of HTTP_PROCESSES); with the embedded PostgreSQL also its
// state (database: ok, restarting or stopped), database_restarts_24h and the free disk space. Never rate limited, never waits long: when
// the database does not answer within HEALTH_TIMEOUT_MS the answer is 503 (load balancers time out
// at ~5 s; DB_CONNECT_TIMEOUT_MS may be longer).

const HEALTH_TIMEOUT_MS = 2500;

const COUNTS_SQL = `
  SELECT (SELECT coalesce(sum(value), 0) FROM counter WHERE name = 'ingested')::bigint AS ingested,
         (SELECT coalesce(sum(value), 0) FROM counter WHERE name = 'digested')::bigint AS digested,
         q.queued::bigint AS queued,
         q.retrying::bigint AS retrying,
         round(${oldestQueuedSecsSql()}::numeric, 1)::float8 AS queue_oldest_secs,
         (SELECT count(*) FROM issue_delta)::bigint AS counters_pending,
         (SELECT count(*) FROM queue_error)::bigint AS failed,
         (SELECT coalesce(sum(value), 0) FROM counter WHERE name = '${GROUPING_FAILED}')::bigint AS grouping_failed
    FROM ${QUEUE_COUNTS_FROM}`;

export function registerHealthRoute(router: Router, ctx: AppContext, extra: () => Record<string, unknown> = () => ({})): void {
  const started = Date.now();
  router.add('GET', '/health/?', async (_req, res) => {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`the database did not answer within ${HEALTH_TIMEOUT_MS} ms`)), HEALTH_TIMEOUT_MS);
    });
    // Outcomes of the last 24 h by kind (rate_limited, invalid, too_large, client_discard, …): what
    // was refused or dropped, next to what was taken.
    // Disk: the files' size (free space inside them included) and the budget; what retention deleted.
    const query = Promise.all([ctx.db.pool.query<{ ingested: number; digested: number; queued: number; retrying: number; queue_oldest_secs: number | null; counters_pending: number; failed: number; grouping_failed: number }>(COUNTS_SQL), outcomeTotals(ctx.db.pool), diskBytes(ctx.db.pool), deletions24h(ctx.db.pool)]);
    query.catch(() => {}); // may settle after the timeout won
    try {
      const [{ rows }, outcomes, disk, deleted] = await Promise.race([query, timeout]);
      sendJson(res, 200, { status: 'ok', ...rows[0], outcomes_24h: outcomes, disk_bytes: disk, disk_budget_bytes: ctx.config.storageMaxBytes ?? null, retention_deleted_24h: deleted, ...ctx.db.status(), ...extra(), pid: process.pid, uptime_secs: Math.round((Date.now() - started) / 1000) }, { 'cache-control': 'no-store' });
    } catch (e) {
      // The embedded database's supervisor state (database: "restarting", restarts in 24 h) is known
      // without asking the database.
      sendJson(res, 503, { status: 'unavailable', detail: `database unavailable: ${(e as Error).message}`, ...ctx.db.status() }, { 'cache-control': 'no-store', 'retry-after': '10' });
    } finally {
      clearTimeout(timer);
    }
  });
}
