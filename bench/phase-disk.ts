import { performance } from 'node:perf_hooks';
import { round, workloadOf, type BenchContext } from './context.js';
import type { Traffic } from './workload.js';
import { countRows, health, tableBytes } from './db.js';
import { runLoad } from './load.js';
import { sampleMemory, startCrashCache, type MemoryPeak } from './procs.js';

// Disk: bytes per event in PostgreSQL after ingest and digest, for the repeated-error workload (one
// error sent again and again, each with its own event id) and for the mixed one spread over many
// issues. Measured in a fresh database: the growth of every table (heap + TOAST + indexes) from the
// empty migrated schema, after the queue has drained and a plain VACUUM (what autovacuum would do:
// the emptied queue gives its pages back) — divided by the events sent.

export interface DiskResult {
  workload: 'repeated' | 'mix';
  traffic: Traffic;
  events: number;
  issues: number;
  bytesPerEvent: number;
  /** bytes per event of the archive table alone (the payloads as stored) */
  archiveBytesPerEvent: number;
  byTable: Record<string, number>;
  memory: MemoryPeak;
}

export async function runDisk(ctx: BenchContext, workload: 'repeated' | 'mix'): Promise<DiskResult> {
  const { opts, log } = ctx;
  const traffic = ctx.traffic ?? opts.traffic[0]!;
  const db = await ctx.pg.create(`disk_${workload}_${traffic}`);
  const server = await startCrashCache({ databaseUrl: db.url });
  try {
    // VACUUM first too: it gives every table its free-space and visibility maps (~32 KB each), which
    // would otherwise count as growth
    await db.pool.query('VACUUM');
    const base = await tableBytes(db);
    log(`disk: ${opts.diskEvents} events of the ${workload} workload, ${traffic} traffic`);
    const mem = sampleMemory([server]);
    const load = await runLoad(
      {
        endpoints: [{ host: '127.0.0.1', port: server.port }],
        connections: 20,
        senders: 1,
        durationSec: 600,
        maxRequests: opts.diskEvents,
        // the mix over ~3,000 issues: most events start or join a small issue
        workload: workloadOf(ctx, workload, 100),
        target: { projectId: db.projectId, key: db.key },
        expected: opts.diskEvents,
      },
      'node',
    );
    if (load.errors) throw new Error(`disk: ${load.errors} of ${load.requests} requests failed`);
    if (load.poolWraps) throw new Error(`disk: ${load.poolWraps} bodies were sent twice (pool too small)`);
    const t0 = performance.now();
    for (;;) {
      const h = await health(server.port);
      if (h.queued === 0) break;
      if (performance.now() - t0 > 600_000) throw new Error(`disk: queue not drained after 600 s (${h.queued} left)`);
      await new Promise((r) => setTimeout(r, 200));
    }
    const memory = mem.stop();
    await db.pool.query('VACUUM');
    const after = await tableBytes(db);
    const byTable: Record<string, number> = {};
    let total = 0;
    for (const [t, b] of Object.entries(after)) {
      const d = b - (base[t] ?? 0);
      if (d > 0) byTable[t] = d;
      total += d;
    }
    const events = await countRows(db, 'archive');
    return {
      workload,
      traffic,
      events,
      issues: await countRows(db, 'issue').catch(() => 0),
      bytesPerEvent: round(total / events),
      archiveBytesPerEvent: round((byTable.archive ?? 0) / events),
      byTable,
      memory,
    };
  } finally {
    await server.stop();
    await db.drop();
  }
}
