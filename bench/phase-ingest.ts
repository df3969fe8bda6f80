import { round, saturatingLoad, type BenchContext } from './context.js';
import { countRows, type BenchDb } from './db.js';
import { runLoad, type LoadResult } from './load.js';
import type { Traffic } from './workload.js';
import { sampleMemory, startCeiling, startCrashCache, withGenerator, type MemoryPeak, type Proc } from './procs.js';

// Ceiling and ingest, back to back under the same load generator and the same number of server
// processes. Ingest runs with the digest worker off (--no-worker) so that it measures the fast path
// alone; what it accepts becomes the digest phase's backlog. The archive rows are counted in the
// database too, to check that nothing acknowledged went missing.

export interface CeilingResult {
  processes: number;
  traffic?: Traffic;
  rps: number;
  latencyMs: LoadResult['latencyMs'];
  errors: number;
  memory: MemoryPeak;
}

export interface IngestResult {
  processes: number;
  traffic: Traffic;
  /** requests answered 200 (which ingest does only once the payload is committed), per second */
  eventsPerSec: number;
  requests: number;
  accepted: number;
  /** archive rows added during the run (counted in the database) */
  committed: number;
  /** acknowledged but not in the database (must be 0) */
  lost: number;
  errors: number;
  latencyMs: LoadResult['latencyMs'];
  ratioToCeiling: number;
  poolWraps: number;
  memory: MemoryPeak;
  generator: string;
}

async function measured(ctx: BenchContext, procs: Proc[], db: BenchDb, expectedRps: number): Promise<{ load: LoadResult; memory: MemoryPeak }> {
  const { opts } = ctx;
  if (opts.warmup > 0) await runLoad(saturatingLoad(ctx, db, procs, opts.warmup, expectedRps), opts.generator);
  const mem = sampleMemory(procs);
  const load = await runLoad(saturatingLoad(ctx, db, procs, opts.duration, expectedRps), opts.generator);
  return { load, memory: withGenerator(mem.stop(), load.generatorCpuSec, load.durationSec) };
}

export async function runCeiling(ctx: BenchContext, db: BenchDb, processes: number): Promise<CeilingResult> {
  const procs = await Promise.all(Array.from({ length: processes }, () => startCeiling()));
  try {
    // pools may wrap here: the ceiling does not deduplicate, so repeats cost it nothing extra
    const { load, memory } = await measured(ctx, procs, db, 2000);
    return { processes, traffic: ctx.traffic ?? ctx.opts.traffic[0]!, rps: round(load.rps), latencyMs: load.latencyMs, errors: load.errors, memory };
  } finally {
    await Promise.all(procs.map((p) => p.stop()));
  }
}

export async function runIngest(ctx: BenchContext, db: BenchDb, processes: number, ceiling: CeilingResult, cpuProfDir?: string): Promise<IngestResult> {
  const procs = await Promise.all(Array.from({ length: processes }, () => startCrashCache({ databaseUrl: db.url, args: ['--no-worker'], cpuProfDir })));
  try {
    const expected = Math.max(2000, ceiling.rps * 0.6);
    if (ctx.opts.warmup > 0) await runLoad(saturatingLoad(ctx, db, procs, ctx.opts.warmup, expected), ctx.opts.generator);
    const before = await countRows(db, 'archive');
    const mem = sampleMemory(procs);
    const load = await runLoad(saturatingLoad(ctx, db, procs, ctx.opts.duration, expected), ctx.opts.generator);
    const memory = withGenerator(mem.stop(), load.generatorCpuSec, load.durationSec);
    const committed = (await countRows(db, 'archive')) - before;
    const accepted = load.requests - load.rejected;
    // wrk stops at the deadline with up to `connections` requests in flight, which commit
    // unanswered: committed may exceed accepted by that much, never fall short of it
    const lost = Math.max(0, accepted - committed);
    if (lost && !load.poolWraps) ctx.log(`WARNING: ${accepted} requests acknowledged but only ${committed} archive rows committed`);
    const eventsPerSec = accepted / load.durationSec;
    return {
      processes,
      traffic: ctx.traffic ?? ctx.opts.traffic[0]!,
      eventsPerSec: round(eventsPerSec),
      requests: load.requests,
      accepted,
      committed,
      lost,
      errors: load.errors,
      latencyMs: load.latencyMs,
      ratioToCeiling: round(eventsPerSec / ceiling.rps, 3),
      poolWraps: load.poolWraps,
      memory,
      generator: load.generator,
    };
  } finally {
    await Promise.all(procs.map((p) => p.stop()));
  }
}
