import { performance } from 'node:perf_hooks';
import { round, saturatingLoad, type BenchContext } from './context.js';
import { countRows, health, type BenchDb } from './db.js';
import { runLoad } from './load.js';
import { sampleMemory, startCrashCache, type MemoryPeak, type Proc } from './procs.js';

// Digest: drain a backlog of queued payloads (what the ingest runs left, topped up to `backlog` by
// ingesting more with the worker off, or trimmed to it), with `crash-cache worker` process(es), timed through the
// /health counts of an idle --no-worker server from the moment the workers are up until the queue
// is empty. Two rates: payloads (queue rows) per second, and reports (events stored) per second — a
// payload that makes no report (a transaction, a session, a client report, an invalid item) is
// digested but is not an event, so the events rate is the one held to the target.

export interface DigestResult {
  /** sdk: the queue of the ingest runs (the SDK corpus mix); js: the JS-heavy mix with source maps (bench/js-mix.ts) */
  mix: 'sdk' | 'js';
  /** js mix: issues whose culprit is the original source (src/steps.js), of `issues` */
  symbolicatedIssues?: number;
  /** js mix: issues whose culprit is still the minified bundle (should be 0) */
  minifiedIssues?: number;
  backlog: number;
  workers: number;
  seconds: number;
  /** queue rows (payloads) digested per second */
  payloadsPerSec: number;
  /** reports (events) stored per second: the events digested */
  reportsPerSec: number;
  /** Payloads/s over the drain's second half: a worker process warms up (V8 compiles its hot code) in the first ~20,000 events. */
  secondHalfPerSec: number | null;
  digested: number;
  failed: number;
  /** reports the drain stored */
  newReports: number;
  reports: number;
  issues: number;
  drained: boolean;
  memory: MemoryPeak;
}

/** `pending`: issue counters digested but not yet folded (src/digest/fold.ts); the drain ends when they are folded too. */
async function queued(p: Proc, db: BenchDb): Promise<{ queued: number; pending: number; failed: number; digested: number }> {
  const h = await health(p.port).catch(() => null);
  if (h && h.queued !== undefined) return { queued: h.queued, pending: h.counters_pending ?? 0, failed: h.failed ?? 0, digested: h.digested ?? 0 };
  return { queued: await countRows(db, 'queue'), pending: await countRows(db, 'issue_delta'), failed: await countRows(db, 'queue_error'), digested: 0 };
}

export async function runDigest(ctx: BenchContext, db: BenchDb, timeoutSec: number, nWorkers: number): Promise<DigestResult> {
  const { opts, log } = ctx;
  const front = await startCrashCache({ databaseUrl: db.url, args: ['--no-worker'] });
  try {
    // top up the backlog
    for (let i = 0; i < 20; i++) {
      const q = (await queued(front, db)).queued;
      if (q >= opts.backlog) break;
      const secs = Math.max(1, Math.min(60, Math.ceil((opts.backlog - q) / 3000)));
      log(`digest: backlog ${q} < ${opts.backlog}; ingesting ${secs} s more`);
      await runLoad(saturatingLoad(ctx, db, [front], secs, 5000), opts.generator);
    }
    // A fixed-size drain: the ingest runs may have queued far more than the backlog asked for. The
    // excess (newest) rows leave the queue; their payloads stay in the archive, undigested.
    // Requests still in flight when the load generator stopped may commit a moment later: trim again
    // until the queue holds still at the backlog (the smoke test once saw 201 of 200).
    let start = await queued(front, db);
    for (let i = 0; i < 20; i++) {
      await db.pool.query('DELETE FROM queue WHERE id > (SELECT id FROM queue ORDER BY id OFFSET $1 LIMIT 1)', [opts.backlog - 1]);
      await new Promise((r) => setTimeout(r, 250));
      start = await queued(front, db);
      if (start.queued <= opts.backlog) break;
    }
    const backlog = start.queued;
    const reportsBefore = await countRows(db, 'report');
    log(`digest: draining ${backlog} queued payloads with ${nWorkers} worker process(es)`);
    const workers = await Promise.all(Array.from({ length: nWorkers }, () => startCrashCache({ databaseUrl: db.url, args: ['worker'] })));
    const mem = sampleMemory(workers);
    const t0 = performance.now();
    let now = start;
    let drained = false;
    let seconds = 0;
    let half: { at: number; queued: number } | null = null;
    let memory: MemoryPeak;
    try {
      while (performance.now() - t0 < timeoutSec * 1000) {
        // Counting a 50,000-row queue costs PostgreSQL ~3 ms, which polling every 100 ms added to the
        // drain being measured (~7 % of its PostgreSQL CPU). So: poll when about a tenth of what is
        // left should be done (at most every 1 s), every 100 ms near the end.
        const elapsed = (performance.now() - t0) / 1000;
        const rate = (backlog - now.queued) / Math.max(elapsed, 0.001);
        const waitMs = rate > 0 ? Math.min(1000, Math.max(100, (100 * now.queued) / rate)) : 500;
        await new Promise((r) => setTimeout(r, waitMs));
        now = await queued(front, db);
        if (!half && now.queued <= backlog / 2) half = { at: (performance.now() - t0) / 1000, queued: now.queued };
        if (now.queued === 0 && now.pending === 0) {
          drained = true;
          break;
        }
      }
    } finally {
      seconds = (performance.now() - t0) / 1000;
      memory = mem.stop();
      await Promise.all(workers.map((w) => w.stop()));
    }
    const done = backlog - now.queued;
    if (!drained) log(`digest: not drained after ${timeoutSec} s (${now.queued} left)`);
    const reports = await countRows(db, 'report');
    const mix = ctx.jsFixtures ? 'js' : 'sdk';
    // the JS issues by their culprit: the original file once symbolicated, the bundle's URL if not
    const culprits = async (like: string) => Number((await db.pool.query<{ n: string }>('SELECT count(*) AS n FROM issue WHERE culprit LIKE $1', [like])).rows[0]!.n);
    const symbolicated = mix === 'js' ? await culprits('%src/steps.js%') : undefined;
    const minified = mix === 'js' ? await culprits('%app.min.js%') : undefined;
    return {
      mix,
      ...(symbolicated === undefined ? {} : { symbolicatedIssues: symbolicated, minifiedIssues: minified }),
      backlog,
      workers: nWorkers,
      seconds: round(seconds, 2),
      payloadsPerSec: round(done / seconds),
      reportsPerSec: round((reports - reportsBefore) / seconds),
      newReports: reports - reportsBefore,
      secondHalfPerSec: drained && half && seconds > half.at ? round(half.queued / (seconds - half.at)) : null,
      digested: now.digested - start.digested,
      failed: now.failed - start.failed,
      reports,
      issues: await countRows(db, 'issue').catch(() => 0),
      drained,
      memory,
    };
  } finally {
    await front.stop();
  }
}
