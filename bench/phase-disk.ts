import { round, workloadOf, type BenchContext } from './context.js';
import type { Traffic } from './workload.js';
import { countRows, tableBytes, waitDrained, type BenchDb } from './db.js';
import { runLoad } from './load.js';
import { sampleMemory, startCrashCache, type MemoryPeak } from './procs.js';

// Disk: bytes per event in PostgreSQL after ingest and digest, for the repeated-error workload (one
// error sent again and again, each with its own event id) and for the mixed one spread over many
// issues. Measured in a fresh database: the growth of every table (heap + TOAST + indexes) from the
// empty migrated schema, after the queue has drained and a plain VACUUM (what autovacuum would do:
// the emptied queue gives its pages back) — divided by the events sent. Then as many events again,
// measured the same way: what they add per event is what the next million cost (more events per GB),
// without what only the first events pay (dictionaries, dimension and issue rows of an installation's
// first errors, the free-space and visibility maps of tables that were empty, the queue's pages).

export interface DiskResult {
  workload: 'repeated' | 'mix';
  traffic: Traffic;
  events: number;
  issues: number;
  bytesPerEvent: number;
  /** bytes per event of the archive table alone (the payloads as stored) */
  archiveBytesPerEvent: number;
  byTable: Record<string, number>;
  /** the second round: bytes per event it added (the queue's pages apart), of them the archive's, per table, and the issues it made */
  next?: { events: number; bytesPerEvent: number; archiveBytesPerEvent: number; issues: number; byTable: Record<string, number> };
  memory: MemoryPeak;
}

export async function runDisk(ctx: BenchContext, workload: 'repeated' | 'mix'): Promise<DiskResult> {
  const traffic = ctx.traffic ?? ctx.opts.traffic[0]!;
  const db = await ctx.pg.create(`disk_${workload}_${traffic}`);
  const server = await startCrashCache({ databaseUrl: db.url });
  try {
    // VACUUM first too: it gives every table its free-space and visibility maps (~32 KB each), which
    // would otherwise count as growth
    await db.pool.query('VACUUM');
    const base = await tableBytes(db);
    const mem = sampleMemory([server]);
    const round1 = await sendRound(ctx, db, server.port, workload, traffic, 1);
    const first = await tableBytes(db);
    const round2 = await sendRound(ctx, db, server.port, workload, traffic, 2);
    const second = await tableBytes(db);
    const memory = mem.stop();
    const grown = growth(base, first);
    // The queue is left out of the second round: its pages hold the backlog and are reused once it
    // drained. Measured (5,000 events a round, three rounds): the queue grew to 491 KB, 958 KB, 958
    // KB while the reports grew 2.4, 4.6, 7.0 MB; the second round still adds ~90 B per event of
    // queue pages, the third none.
    const added = growth(first, second, 'queue');
    const events = round1.events;
    const nextEvents = round2.events - round1.events;
    return {
      workload,
      traffic,
      events,
      issues: round1.issues,
      bytesPerEvent: round(grown.total / events),
      archiveBytesPerEvent: round((grown.byTable.archive ?? 0) / events),
      byTable: grown.byTable,
      next: {
        events: nextEvents,
        bytesPerEvent: round(added.total / nextEvents),
        archiveBytesPerEvent: round((added.byTable.archive ?? 0) / nextEvents),
        issues: round2.issues - round1.issues,
        byTable: added.byTable,
      },
      memory,
    };
  } finally {
    await server.stop();
    await db.drop();
  }
}

/** Sends DISK_EVENTS more events, waits until the digest has them all, VACUUMs; events and issues stored so far. */
async function sendRound(ctx: BenchContext, db: BenchDb, port: number, workload: 'repeated' | 'mix', traffic: Traffic, n: number): Promise<{ events: number; issues: number }> {
  const { opts, log } = ctx;
  log(`disk: ${opts.diskEvents} events of the ${workload} workload, ${traffic} traffic (round ${n} of 2)`);
  const load = await runLoad(
    {
      endpoints: [{ host: '127.0.0.1', port }],
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
  await waitDrained(port, 'disk');
  await db.pool.query('VACUUM');
  return { events: await countRows(db, 'archive'), issues: await countRows(db, 'issue').catch(() => 0) };
}

/** What each table grew by from `before` to `after` (tables that shrank count as 0), and the total. */
function growth(before: Record<string, number>, after: Record<string, number>, skip?: string): { total: number; byTable: Record<string, number> } {
  const byTable: Record<string, number> = {};
  let total = 0;
  for (const [t, b] of Object.entries(after)) {
    if (t === skip) continue;
    const d = b - (before[t] ?? 0);
    if (d > 0) byTable[t] = d;
    total += d;
  }
  return { total, byTable };
}
