import type pg from 'pg';
import type { Limits } from './limits.js';
import { addSpend, deleteIdleSpend, recentSpend } from './queries.js';

// Keeping limits across several ingest processes on one database, approximately.
//
// Each process decides locally from its own buckets (no database round trip on the request path).
// Every SYNC_MS it adds the tokens it took per bucket to `rate_limit_spend` (one upsert) and reads
// the other processes' rows (one select), debiting what they took since it last looked from its
// own buckets. So every bucket is drained by everyone's consumption, late by at most about two
// sync periods (a peer's write + our read) plus query time.
//
// Error bound, with N processes, rate r and burst B seconds (capacity C = r·B):
// - sustained traffic: each process admits at most r·2T extra tokens (T = SYNC_MS) before it sees
//   the others' spend; that overshoot becomes debt and is repaid, so the combined long-run rate
//   converges to r. Measured (test/ratelimit/sync.test.ts, simulated clock): two processes
//   flooded at r = 20/s passed 226 in the first 10 s (bursts included; unshared: 440) and exactly
//   200 in the next 10 s. Two real servers at 20/s for 6 s passed 155, one alone 137. Because the
//   debits land late, the admitted rate per second oscillates (seen: 67, 0, 31, 15, 13, 28)
//   around r rather than staying flat;
// - a burst reaching all N at once: up to N·C pass before the debits land (vs C for one process);
//   each bucket's debt is floored at −C, so afterwards they stay shut for at most 2·B seconds.
// - per-address buckets: at most MAX_SYNC_KEYS keys are shared per period (busiest first) and a
//   debit is applied only to addresses the process already holds, so under a wide attack the
//   per-address limit degrades towards per-process while the global and project buckets hold.

export const SYNC_MS = 500;
/** Keys shared per sync; the global and project keys always go, addresses fill the rest. */
export const MAX_SYNC_KEYS = 2000;
/** Deleting idle rows every ~20 syncs (10 s) is plenty for a table of soft state. */
const CLEANUP_EVERY = 20;

export class SpendSync {
  /** Last cumulative `spent` seen per peer row, to turn cumulative values into deltas. */
  private readonly seen = new Map<string, { spent: number; at: number }>();
  private runs = 0;
  private running: Promise<void> | null = null;

  constructor(
    private readonly pool: pg.Pool,
    private readonly limits: Limits,
    readonly processId: string,
    private readonly now: () => number = Date.now,
  ) {}

  /** One exchange; concurrent calls share the one in flight. */
  run(): Promise<void> {
    return (this.running ??= this.exchange().finally(() => (this.running = null)));
  }

  private async exchange(): Promise<void> {
    if (!this.limits.active) return;
    const spent = this.limits.takeSpent();
    if (spent.size) {
      let entries = [...spent];
      if (entries.length > MAX_SYNC_KEYS) {
        const head = entries.filter(([k]) => !k.startsWith('i:'));
        const ips = entries.filter(([k]) => k.startsWith('i:')).sort((a, b) => b[1] - a[1]);
        entries = [...head, ...ips].slice(0, MAX_SYNC_KEYS);
      }
      // If this fails, the others under-count us once; the local limits still hold.
      await addSpend(this.pool, this.processId, entries.map((e) => e[0]), entries.map((e) => e[1]));
    }
    const now = this.now();
    for (const row of await recentSpend(this.pool, this.processId)) {
      const id = `${row.process_id}|${row.key}`;
      const prev = this.seen.get(id);
      // First sight: only the latest addition is new to us. A value below the last one seen means
      // the row was deleted while idle and started again: all of it is new.
      const delta = prev === undefined ? row.last_spent : row.spent >= prev.spent ? row.spent - prev.spent : row.spent;
      this.seen.set(id, { spent: row.spent, at: now });
      if (delta > 0) this.limits.debit(row.key, delta);
    }
    if (++this.runs % CLEANUP_EVERY === 0) {
      // Rows disappear after 60 s idle; forget them a while later (see the restart rule above).
      for (const [id, s] of this.seen) if (now - s.at > 120_000) this.seen.delete(id);
      await deleteIdleSpend(this.pool);
    }
  }
}
