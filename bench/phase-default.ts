import { performance } from 'node:perf_hooks';
import { round, saturatingLoad, workloadOf, type BenchContext } from './context.js';
import { countRows, waitDrained, type BenchDb } from './db.js';
import { runLoad, type LoadResult } from './load.js';
import { sampleMemory, startCrashCache, type MemoryPeak, type Proc } from './procs.js';

// The default process (ingest + digest worker in one, as `npm start` runs it) under load, on a
// database of its own:
// 1. saturated: as fast as the load generator can send, for `duration` s. Ingest then takes most of
//    the process and the digest falls behind: the queue grows by the difference.
// 2. the drain of that backlog with no load: what the digest does alone.
// 3. sustained: fixed rates, each for twice `duration`, with the queue read every second, from 0.8 ×
//    the drain rate down by a fifth at a time (at most SUSTAIN_TRIES), until the queue stays bounded
//    (at most one second of events at the end): an accept rate whose backlog grows is not sustained.
//    When a rate grew and the next one held, the rate halfway between them is tried too, so the row is
//    within a tenth of what the process sustains rather than a fifth (the 19:52 run: 1,789 grew, 1,431
//    held, and nothing said where between them the limit was).
// The 2-core bench box shares its cores between the process's threads, PostgreSQL and the generator,
// so the sustained rate is set by their CPU per event together, not by any one of them.

const SUSTAIN_TRIES = 4;

export interface DefaultResult {
  traffic: string;
  saturated: { seconds: number; acceptedPerSec: number; carriedPerSec: number; queueGrowthPerSec: number; errors: number; p99Ms: number };
  /** the saturated run's backlog digested with no load */
  drain: { payloads: number; seconds: number; perSec: number };
  /** the highest rate tried whose queue stayed bounded (or, when none did, the last one tried) */
  sustained: { rate: number; seconds: number; acceptedPerSec: number; queueMax: number; queueEnd: number; bounded: boolean; errors: number; p99Ms: number };
  /** every rate tried, highest first */
  tries: { rate: number; queueEnd: number; bounded: boolean }[];
  /** sustained accepted events/s ÷ the ceiling of one process (same traffic), when the ceiling ran */
  ratioToCeiling: number | null;
  memory: MemoryPeak;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Payloads accepted in a run (2xx answers). */
const accepted = (l: LoadResult) => l.requests - l.rejected;

export async function runDefault(ctx: BenchContext, ceilingRps: number | null): Promise<DefaultResult> {
  const { opts, log } = ctx;
  const db = await ctx.pg.create('default_process');
  const server = await startCrashCache({ databaseUrl: db.url });
  try {
    if (opts.warmup > 0) {
      await runLoad(saturatingLoad(ctx, db, [server], opts.warmup, 3000), opts.generator);
      await waitDrained(server.port, 'default process');
    }
    const mem = sampleMemory([server]);
    const q0 = await countRows(db, 'queue');
    const sat = await runLoad(saturatingLoad(ctx, db, [server], opts.duration, 3000), opts.generator);
    const growth = (await countRows(db, 'queue')) - q0;
    const carried = Math.max(0, accepted(sat) - growth) / sat.durationSec;
    const backlog = q0 + growth;
    log(`default process, saturated: ${round(accepted(sat) / sat.durationSec)} events/s accepted, ${round(carried)} digested; draining ${backlog}`);
    const t0 = performance.now();
    await waitDrained(server.port, 'default process');
    const drainSecs = (performance.now() - t0) / 1000;
    const drainPerSec = backlog / drainSecs;

    const secs = opts.duration * 2;
    let rate = Math.max(10, Math.floor(drainPerSec * 0.8));
    const tries: DefaultResult['tries'] = [];
    let sustained: Awaited<ReturnType<typeof fixedRate>>;
    for (;;) {
      log(`default process: ${rate} events/s for ${secs} s`);
      sustained = await fixedRate(ctx, db, server, rate, secs);
      const bounded = sustained.queueEnd <= rate;
      tries.push({ rate, queueEnd: sustained.queueEnd, bounded });
      if (bounded || tries.length >= SUSTAIN_TRIES) break;
      await waitDrained(server.port, 'default process');
      rate = Math.max(10, Math.floor(rate * 0.8));
    }
    const grew = tries.length >= 2 && tries[tries.length - 1]!.bounded ? tries[tries.length - 2]!.rate : null;
    if (grew !== null) {
      const mid = Math.floor((grew + rate) / 2);
      await waitDrained(server.port, 'default process');
      log(`default process: ${mid} events/s for ${secs} s (between ${grew}, which grew, and ${rate})`);
      const between = await fixedRate(ctx, db, server, mid, secs);
      const bounded = between.queueEnd <= mid;
      tries.push({ rate: mid, queueEnd: between.queueEnd, bounded });
      if (bounded) {
        rate = mid;
        sustained = between;
      }
    }
    tries.sort((a, b) => b.rate - a.rate);
    const memory = mem.stop();
    const acceptedPerSec = round(accepted(sustained.load) / sustained.load.durationSec);
    return {
      traffic: ctx.traffic ?? opts.traffic[0]!,
      saturated: {
        seconds: round(sat.durationSec, 1),
        acceptedPerSec: round(accepted(sat) / sat.durationSec),
        carriedPerSec: round(carried),
        queueGrowthPerSec: round(growth / sat.durationSec),
        errors: sat.errors,
        p99Ms: sat.latencyMs.p99,
      },
      drain: { payloads: backlog, seconds: round(drainSecs, 1), perSec: round(drainPerSec) },
      sustained: { rate, seconds: secs, acceptedPerSec, queueMax: sustained.queueMax, queueEnd: sustained.queueEnd, bounded: tries.find((t) => t.rate === rate)!.bounded, errors: sustained.load.errors, p99Ms: sustained.load.latencyMs.p99 },
      tries,
      ratioToCeiling: ceilingRps ? round(acceptedPerSec / ceilingRps, 3) : null,
      memory,
    };
  } finally {
    await server.stop();
    await db.drop();
  }
}

/** `rate` events/s for `secs` s (the paced Node generator), the queue's depth read every second. */
async function fixedRate(ctx: BenchContext, db: BenchDb, server: Proc, rate: number, secs: number): Promise<{ load: LoadResult; queueMax: number; queueEnd: number }> {
  const load = runLoad({ endpoints: [{ host: '127.0.0.1', port: server.port }], connections: 100, senders: 1, durationSec: secs, rate,
    workload: workloadOf(ctx, 'mix', ctx.opts.groups), target: { projectId: db.projectId, key: db.key }, expected: rate * secs }, 'node');
  let done = false;
  let queueMax = 0;
  let queueEnd = 0;
  const t0 = performance.now();
  const sampler = (async () => {
    while (!done) {
      await sleep(1000);
      queueEnd = await countRows(db, 'queue');
      // the first seconds are the generator's start, not the server's state
      if (performance.now() - t0 > 3000) queueMax = Math.max(queueMax, queueEnd);
    }
  })();
  const result = await load.finally(() => (done = true));
  await sampler;
  return { load: result, queueMax, queueEnd };
}
