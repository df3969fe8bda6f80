import type pg from 'pg';
import { HttpError, isDatabaseUnavailable } from '../http/errors.js';
import { Refusal } from './refusal.js';
import type { Logger } from '../log.js';
import { insertArchiveRows, MAX_STATEMENT_BYTES } from '../archive/insert.js';
import type { NewArchiveRow } from '../archive/row.js';

// Group commit: requests hand their row to the committer and wait; one statement at a time commits
// everything waiting (at most INGEST_COMMIT_MAX_BATCH rows), and while it runs the next batch
// accumulates. INGEST_COMMITS_IN_FLIGHT > 1 lets that many statements run at once on separate
// connections (each request resolves when its own batch commits; batch order does not matter).
// Measured 1 vs 2 (100 concurrent submitters of 3 KB rows, no HTTP, embedded PG 18 with fsync
// ~2.7 ms, load average 9–14 from other work on the 2 cores): median 3,250 vs 3,160 rows/s, and
// 26 vs 37 µs of committer CPU per row (the batches halve). End to end (bench, wrk, 100
// connections, in a quiet minute with 0.3–0.5 cores idle) 2 in flight gave 6,009 events/s vs 6,515
// with 1, and the idle share did not shrink: commits that NOTIFY serialize on the notify queue's
// lock until they are durable, and PostgreSQL's share of the 2 cores is CPU, not fsync waits. So
// the default stays 1; the setting is for machines where the commit latency is the disk's. Under load a commit carries many rows, so durability costs one fsync per batch, not
// per event (PG 15 on 2 cores: ~3.8k single-row autocommits/s vs ~25k rows/s in 500-row INSERTs).
// Idle, a lone request commits at once: there is no timer. Measured with the statement below
// (2 KB payloads, embedded PG 18, on a 2-core box shared with other builds, load average ~12):
// 1 row 5.6 ms, 8 rows 7.3 ms, 32 rows 10 ms, 128 rows 10.4 ms, 500 rows 66 ms per statement.
//
// Bounded: ingest admits at most INGEST_MAX_PENDING_COMMITS requests (INGEST_MAX_PENDING_BYTES of
// bodies) at once (admission.ts), so what waits here is bounded too. When the database is
// unreachable or out of resources (SQLSTATE class 53: disk full, out of memory) every waiting request
// fails together (each later batch would only fail the same way again).

interface Pending {
  row: NewArchiveRow;
  resolve: () => void;
  reject: (e: unknown) => void;
  timer: NodeJS.Timeout;
}

function settle(p: Pending, ok: boolean, error?: unknown): void {
  clearTimeout(p.timer);
  if (ok) p.resolve();
  else p.reject(error);
}

/** A class 53 error (insufficient resources) as the 503 the client gets, with the outcome reason it is recorded under. */
function outOfResources(e: unknown): unknown {
  const code = (e as { code?: string } | null)?.code ?? '';
  if (!code.startsWith('53') || code === '53300') return e; // 53300 too many connections: plain unavailable
  const diskFull = code === '53100';
  return new Refusal(
    'unavailable',
    `the database is ${diskFull ? 'out of disk space' : 'out of resources'} (SQLSTATE ${code}); retry later`,
    diskFull ? 'disk_full' : 'database_out_of_resources',
    { 'retry-after': '60' },
  );
}

export class GroupCommitter {
  private pending: Pending[] = [];
  /** Statements executing now, each on its own pool connection (at most `inFlightMax`). */
  private readonly running = new Set<Promise<void>>();
  private closed = false;
  constructor(
    private readonly pool: pg.Pool,
    private readonly maxBatch: number,
    private readonly log: Logger,
    private readonly onCommitted: () => void,
    private readonly maxWaitMs: number,
    private readonly inFlightMax = 1,
    private readonly maxBytes = MAX_STATEMENT_BYTES,
  ) {}

  /** Resolves once the row (or an identical one stored earlier) is committed. */
  submit(row: NewArchiveRow): Promise<void> {
    if (this.closed) return Promise.reject(new HttpError('unavailable', 'the server is shutting down; retry later', { 'retry-after': '5' }));
    return new Promise<void>((resolve, reject) => {
      // A request never waits longer than a connection plus a statement may take. Answering 503
      // while the rows might still commit is safe: the SDK's retry carries the same bytes, which
      // the archive stores once (same sha-256), and it is answered 200 then.
      const timer = setTimeout(
        () => reject(new HttpError('unavailable', `the database did not commit within ${Math.round(this.maxWaitMs / 1000)} s; retry later`, { 'retry-after': '10' })),
        this.maxWaitMs,
      );
      this.pending.push({ row, resolve, reject, timer });
      this.pump();
    });
  }

  get waiting(): number {
    return this.pending.length;
  }

  /** Starts statements for what is waiting while fewer than `inFlightMax` run. */
  private pump(): void {
    while (this.pending.length > 0 && this.running.size < this.inFlightMax) {
      // At most maxBatch rows and maxBytes of payloads (one larger payload goes alone).
      let n = 1;
      let bytes = this.pending[0]!.row.payload.length;
      for (; n < this.pending.length && n < this.maxBatch; n++) {
        bytes += this.pending[n]!.row.payload.length;
        if (bytes > this.maxBytes) break;
      }
      const batch = this.pending.splice(0, n);
      const run: Promise<void> = this.commitBatch(batch).finally(() => {
        this.running.delete(run);
        this.pump();
      });
      this.running.add(run);
    }
  }

  /** Commits one batch and settles each of its requests; never rejects. */
  private async commitBatch(batch: Pending[]): Promise<void> {
    try {
      await this.commit(batch.map((p) => p.row));
      for (const p of batch) settle(p, true);
      this.onCommitted();
    } catch (e) {
      if (isDatabaseUnavailable(e)) {
        const rest = this.pending.splice(0);
        this.log.warn('group commit failed: database unavailable', { error: String((e as Error).message), code: (e as { code?: string }).code, requests: batch.length + rest.length });
        const answer = outOfResources(e);
        for (const p of [...batch, ...rest]) settle(p, false, answer);
      } else if (batch.length > 1) {
        // One bad row must not fail its neighbours: commit them one by one to isolate it.
        this.log.warn('group commit failed; retrying its rows one by one', { error: String((e as Error)?.message ?? e), requests: batch.length });
        for (const p of batch) {
          try {
            await this.commit([p.row]);
            settle(p, true);
          } catch (e1) {
            this.log.error('archive insert failed', { error: (e1 as Error)?.stack ?? String(e1) });
            settle(p, false, e1);
          }
        }
        this.onCommitted();
      } else {
        this.log.error('archive insert failed', { error: (e as Error)?.stack ?? String(e) });
        for (const p of batch) settle(p, false, e);
      }
    }
  }

  private async commit(rows: NewArchiveRow[]): Promise<void> {
    await insertArchiveRows(this.pool, rows);
  }

  /** Stops taking rows and waits for those already taken to commit (or fail). */
  async close(): Promise<void> {
    this.closed = true;
    while (this.running.size > 0) await Promise.all(this.running);
  }
}
