import type { AppContext } from '../context.js';
import { listenQueue, type Listener } from '../queue/listen.js';
import { retryLater } from '../queue/claim.js';
import { startAlertSender } from '../alerts/sender.js';
import { startRetention } from '../archive/retention/worker.js';
import { BatchError, DIGEST_LOCK, digestBatch } from './batch.js';
import { DimCache } from './dims.js';
import { FOLD_EVERY_MS, FOLD_IDLE_MS, foldNow } from './fold.js';
import { PreparePool } from './prepare-pool.js';
import { sharedSymbolicator } from '../sourcemaps/shared.js';

import { nextSnoozeMs, wakeSnoozedIssues } from './snooze.js';
import { counter, histogram } from '../metrics/index.js';

// The digest loop of one process. It runs a tick when woken (in-process `wake()` after an ingest
// commit, or a NOTIFY crash_cache_queue from another process — typically within a few ms), when
// a payload waiting for a retry becomes due, or after WORKER_INTERVAL_SECS of sleep. A tick runs batches until the queue is empty or
// WORKER_BUDGET_SECS have passed. Failures:
// - transient database errors (connection lost, deadlock, ...): the batch was rolled back; the
//   loop waits 0.5 s, 1 s, 2 s, ... (capped at 30 s) and tries again; the rows stay queued.
// - any other error: the batch is retried one payload at a time, so that one bad payload cannot
//   hold back the others; a payload that fails alone waits 2^attempts s (capped at 10 min) and
//   goes to queue_error after WORKER_MAX_ATTEMPTS.
// With WORKER_THREADS ≥ 1, payloads are prepared (parsed, normalized, grouped) in worker threads
// and threads + 1 "lanes" run batches side by side, each on its own connection: while one lane
// waits for PostgreSQL, another one's batch is being prepared.

const digestMetrics = {
  payloads: counter('crash_cache_digest_payloads_total', 'Queued payloads digested (claimed and committed) by this process.'),
  events: counter('crash_cache_digest_events_total', 'Events stored by the digest in this process.'),
  failed: counter('crash_cache_digest_payloads_failed_total', 'Payloads the digest moved to queue_error in this process.'),
  failedBatches: counter('crash_cache_digest_batch_failures_total', 'Digest batches that failed: transient (database; retried) or payload (retried one by one).', ['kind']),
  seconds: histogram('crash_cache_digest_batch_duration_seconds', 'Wall time of one digest batch (claim, prepare, store, commit).', [], [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]),
  observe(r: { claimed: number; events: number; failed: number }, secs: number): void {
    this.payloads.inc(r.claimed);
    this.events.inc(r.events);
    if (r.failed) this.failed.inc(r.failed);
    this.seconds.observe(secs);
  },
};

/** Ignored issues whose snooze time has come are looked for at most this often per process. */
const SNOOZE_CHECK_MS = 5000;


export function startWorker(ctx: AppContext): { wake(): void; stop(): Promise<void> } {
  const { config, db, log } = ctx;
  const cache = new DimCache();
  let stopping = false;
  let pending = true;
  let sleepTimer: NodeJS.Timeout | null = null;
  let wakeSleep: (() => void) | null = null;
  let singles = 0; // payloads still to process one at a time after a failed batch
  let backoffMs = 0;

  let onStop: () => void = () => {};
  const stopped = new Promise<void>((r) => (onStop = r));
  const pause = (ms: number) => Promise.race([stopped, new Promise<void>((r) => setTimeout(r, ms).unref())]);

  const wake = () => {
    pending = true;
    wakeSleep?.();
  };
  // Also ends at stop(): a stop() that lands while idleMs() queries, before this sleep has set
  // wakeSleep, must not leave the loop asleep for up to WORKER_INTERVAL_SECS (shutdown would hang).
  const sleep = (ms: number) =>
    Promise.race([stopped, new Promise<void>((resolve) => {
      wakeSleep = () => {
        if (sleepTimer) clearTimeout(sleepTimer);
        sleepTimer = null;
        wakeSleep = null;
        resolve();
      };
      sleepTimer = setTimeout(() => wakeSleep?.(), ms);
    })]);

  const listener: Listener = listenQueue(db.url, wake, (m) => log.warn(m));
  const alerts = startAlertSender(ctx);
  const retention = startRetention(ctx);
  const pool = config.workerThreads > 0 && PreparePool.available() ? new PreparePool(config.workerThreads, { dbUrl: db.url, cacheBytes: config.sourcemapCacheBytes }, config.workerThreadsIdleSecs * 1000) : null;
  const symbolicator = pool ? undefined : sharedSymbolicator();
  // Without threads, two lanes still overlap: one prepares its batch (synchronous CPU) while the
  // other's statements run in PostgreSQL.
  const lanes = pool ? config.workerThreads + 1 : 2;
  const prepare = pool ? pool.run.bind(pool) : undefined;
  const slotBase = Math.floor(Math.random() * 16);

  // Fold pacing (fold.ts, FOLD_IDLE_MS). `foldedAt`: when this process last decided to fold (before
  // the fold's snapshot, so a batch committed after it may not be covered: at worst one fold too
  // many). `owedAt`: when a batch of this process last committed deltas it did not fold.
  let foldedAt = 0;
  let owedAt = -1;
  const foldDrained = (createdIssues: number) => {
    const now = Date.now();
    if (createdIssues === 0 && now - foldedAt < FOLD_IDLE_MS) return false;
    foldedAt = now;
    return true;
  };
  /** When the deltas this process left must be folded (null: none left). */
  const foldDue = () => (owedAt >= foldedAt ? foldedAt + FOLD_IDLE_MS : null);

  let snoozeCheckedAt = 0;
  async function tick(): Promise<void> {
    const until = Date.now() + config.workerBudgetSecs * 1000;
    if (Date.now() - snoozeCheckedAt >= SNOOZE_CHECK_MS) {
      snoozeCheckedAt = Date.now();
      const woken = await wakeSnoozedIssues(db.pool).catch((e) => (log.warn('cannot wake snoozed issues', { error: String(e) }), 0));
      if (woken) log.info('ignored issues back after their snooze', { issues: woken });
    }
    let finished!: () => void;
    const folding = folder(new Promise<void>((r) => (finished = r)));
    // Lanes start on demand: one, then one more each time a batch comes back full (a backlog), up to
    // `lanes`; a lane ends with the batch that drained the queue. Started all at once, every lane ran
    // a batch per wake: at 100 events/s each wake found one payload, and the other lanes' batches
    // were empty, 4 transactions per event (PostgreSQL ~0.5 of a core).
    const running: Promise<void>[] = [];
    const free = Array.from({ length: lanes }, (_, i) => lanes - 1 - i);
    const spawn = () => {
      const i = free.pop();
      if (i !== undefined) running.push(lane(until, (slotBase + i) % 16, spawn).finally(() => free.push(i)));
    };
    spawn();
    try {
      for (let i = 0; i < running.length; i++) await running[i];
    } finally {
      finished();
      await folding;
    }
    // Budget used up (or queue empty): the loop decides whether to run again.
    if (Date.now() >= until) pending = true;
  }

  // Full batches leave their issue counters in issue_delta (see fold.ts); while the lanes run, this
  // folds them every FOLD_EVERY_MS on a connection of its own, so that no lane waits for a fold
  // (a fold of the bench mix's ~780 issues takes 100–200 ms). If another process is folding it skips
  // its turn. The lanes' last batches (those that drained the queue) fold whatever is left, at most
  // every FOLD_IDLE_MS (foldDrained); what they leave is folded when due, by the next tick.
  async function folder(lanesDone: Promise<void>): Promise<void> {
    const done = lanesDone.then(() => true);
    for (;;) {
      if (await Promise.race([done, pause(FOLD_EVERY_MS).then(() => false)]) || stopping) return;
      try {
        const at = Date.now();
        if ((await foldApart(false)) != null) foldedAt = Math.max(foldedAt, at);
      } catch (e) {
        log.warn('issue counter fold failed; retried in a second', { error: String(e) });
      }
    }
  }

  /**
   * foldNow on a pooled connection of its own (one the fold broke is not given back): the issues it
   * updated, null when `wait` is false and another process was folding, undefined without a connection.
   */
  async function foldApart(wait: boolean): Promise<number | null | undefined> {
    const client = await db.pool.connect().catch(() => null);
    if (!client) return undefined;
    let broken: Error | undefined;
    try {
      return await foldNow(client, DIGEST_LOCK, { wait });
    } catch (e) {
      broken = e as Error;
      throw e;
    } finally {
      client.release(broken);
    }
  }

  // Batches are sized by bytes as well as by count: at most WORKER_BATCH_SIZE payloads, and about
  // WORKER_BATCH_BYTES of decompressed payload. Measured per event: repeated 9 KB Node events cost
  // 427 µs CPU in batches of 200 against 572 µs in batches of 50, while a mix averaging 31 KB
  // (up to 150 KB) cost 3.1 ms at 200 and 2.2 ms at 50, with half the memory peak (136 MB, not 258).
  // The mean payload size is the process's, not a lane's: lanes start and end with the backlog.
  let avgBytes = 0;

  async function lane(until: number, counterSlot: number, more: () => void): Promise<void> {
    while (!stopping && Date.now() < until) {
      const client = await db.pool.connect();
      let release: Error | boolean = false;
      try {
        const size = singles > 0 ? 1 : avgBytes > 0 ? Math.max(10, Math.min(config.workerBatchSize, Math.floor(config.workerBatchBytes / avgBytes))) : Math.min(config.workerBatchSize, 50);
        const t0 = process.hrtime.bigint();
        const r = await digestBatch(client, { batchSize: size, maxBytes: config.maxEnvelopeBytes, scrubMaxDepth: config.scrubMaxDepth, cache, prepare, counterSlot, symbolicator, foldDrained, maxAttempts: config.workerMaxAttempts });
        if (r.deltas) owedAt = Date.now();
        if (r.claimed) digestMetrics.observe(r, Number(process.hrtime.bigint() - t0) / 1e9);
        backoffMs = 0;
        if (r.claimed) avgBytes = avgBytes ? 0.7 * avgBytes + 0.3 * (r.bytes / r.claimed) : r.bytes / r.claimed;
        if (singles > 0) singles -= r.claimed;
        if (r.failed) log.warn('payloads moved to queue_error', { count: r.failed });
        // A defect of the grouping engine: each such event went to the fallback issue (counted in /health).
        for (const f of r.groupingFailures.slice(0, 10)) log.error('grouping failed; event put in the fallback issue', { project: f.projectId, event: f.eventId, error: f.error });
        if (r.groupingFailures.length > 10) log.error('grouping failed for more events of the batch', { count: r.groupingFailures.length - 10 });
        if (r.claimed < size) return;
        log.debug('digested', { payloads: r.claimed, events: r.events });
        more();
      } catch (e) {
        const be = e instanceof BatchError ? e : new BatchError(e as Error, []);
        // Rolled back, its fold too, if it was to fold: what it was to fold is owed.
        owedAt = Date.now();
        const next = be.next;
        digestMetrics.failedBatches.inc({ kind: next === 'later' ? 'transient' : 'payload' });
        if (next === 'later') {
          // A broken connection must not go back to the pool.
          release = be.cause;
          backoffMs = Math.min(30_000, backoffMs ? backoffMs * 2 : 500);
          log.warn('digest batch failed; retrying', { error: be.message, retry_in_ms: backoffMs });
          client.release(release);
          release = true;
          await pause(backoffMs);
          continue;
        }
        if (next === 'one-by-one') {
          singles = be.claimedIds.length;
          log.warn('digest batch failed; retrying its payloads one by one', { error: be.message, payloads: be.claimedIds.length });
        } else {
          log.error('payload failed to digest', { error: be.message, queue_id: be.claimedIds[0], attempt: be.claimed[0]!.attempts + 1, max_attempts: config.workerMaxAttempts });
          singles = Math.max(0, singles - 1);
          if (next === 'unrecorded') await retryLater(db.pool, be.claimedIds, be.message, config.workerMaxAttempts).catch((e2) => log.error('cannot reschedule payload', { error: String(e2) }));
        }
      } finally {
        if (release === false) client.release();
      }
    }
  }

  const loop = (async () => {
    while (!stopping) {
      if (pending) {
        pending = false;
        try {
          await tick();
        } catch (e) {
          log.error('digest tick failed', { error: String(e) });
          await sleep(1000);
        }
        continue;
      }
      // Deltas left by a paced fold: the tick at their due time folds them (its first batch, empty).
      const due = foldDue();
      const ms = Math.min(await idleMs(), due === null ? Infinity : Math.max(0, due - Date.now()));
      // A NOTIFY that arrived while idleMs() queried set `pending` when there was no sleep to end:
      // sleeping now would miss it for up to WORKER_INTERVAL_SECS (test/digest/wake.test.ts saw a
      // report wait past its 60 s limit so, on a busy machine).
      if (!pending) await sleep(ms);
      pending = true;
    }
  })();

  /** How long to sleep: until the earliest queued row that waits for a retry or the earliest snooze end, at most the interval. */
  async function idleMs(): Promise<number> {
    const max = config.workerIntervalSecs * 1000;
    try {
      const { rows } = await db.pool.query<{ ms: number | null }>(
        'SELECT (extract(epoch FROM min(run_after) - now()) * 1000)::float8 AS ms FROM queue');
      const snooze = await nextSnoozeMs(db.pool);
      // A snooze end is handled by the next tick's check (at most every SNOOZE_CHECK_MS).
      const retry = rows[0]?.ms ?? Infinity;
      const wake = snooze === null ? Infinity : Math.max(snooze, SNOOZE_CHECK_MS - (Date.now() - snoozeCheckedAt));
      return Math.min(max, Math.max(50, Math.min(retry, wake)));
    } catch {
      return max;
    }
  }

  return {
    wake,
    async stop() {
      stopping = true;
      onStop();
      wakeSleep?.();
      await loop;
      // Counters exact at a clean stop: fold what a paced fold left.
      if (foldDue() !== null) await foldApart(true).catch((e) => log.warn('issue counter fold at stop failed; the next worker folds them', { error: String(e) }));
      await alerts.stop();
      await retention.stop();
      await listener.close();
      await pool?.close();
    },
  };
}
