import type pg from 'pg';
import { claimBatch, failQueueRows, finishQueueRows, retryLater, type QueueRow } from '../queue/claim.js';
import { attachDictionaries } from '../archive/dictionary-load.js';
import { type DimCache, DimRequest } from './dims.js';
import { foldIssueCounters } from './fold.js';
import { countGroupingFailures } from './grouping-failures.js';
import { requestDims, storeEvents, type IssueCounts } from './events.js';
import { storeExtraCounts, storeExtras } from './extras.js';
import { ARCHIVE_READ_COLUMNS, type ArchiveRow } from '../archive/row.js';
import { prepareBatchWithMaps, type Prepared } from './prepare.js';
import type { Symbolicator } from '../sourcemaps/resolve.js';
import { projectRules, type ProjectRules } from './project-rules.js';
import { projectScrubbing } from './project-scrubbing.js';
import { rewriteArchive } from '../archive/rewrite.js';
import type { ScrubPlan } from '../scrub/settings.js';
import { requestSessionDims, storeSessions } from './sessions.js';

// One digest batch, inside one transaction: claim queue rows (SKIP LOCKED), read their archive
// rows, parse → normalize → group in memory, then write every effect with a fixed number of
// multi-row statements, move unusable payloads to queue_error, delete the claimed rows and bump the
// `digested` counter, and — when the batch drained the queue, paced by the worker — fold the issue
// counters (fold.ts).
// COMMIT makes all of it visible at once; any failure before COMMIT leaves nothing behind and the
// rows are claimed again later.
// The statements run every batch are named (prepared once per connection): PostgreSQL then skips
// parsing and planning them, 177–183 → 164–165 µs of PostgreSQL CPU per event on the bench mix.

/** Workers hold this advisory lock shared per batch; `ruminate` takes it exclusively. */
export const DIGEST_LOCK = 7_310_224_002;

/**
 * A batch that failed and was rolled back; `claimed` are the queue rows it had claimed, as claimed
 * (`attempts` before this one). `rescheduled`: its one payload's failed attempt is already recorded
 * (retryLater, committed).
 */
export class BatchError extends Error {
  constructor(readonly cause: Error, readonly claimed: QueueRow[], readonly rescheduled = false) {
    super(cause.message);
  }
  get claimedIds(): number[] {
    return this.claimed.map((r) => r.id);
  }
  /**
   * How its caller goes on (the worker's lanes, ruminate's drain): 'later' — transient, or nothing
   * claimed: back off and run again, the rows untouched; 'one-by-one' — retry each claimed payload in
   * a batch of its own, to find the one that fails; 'recorded' — the one payload's failed attempt is
   * recorded; 'unrecorded' — the caller records it (retryLater).
   */
  get next(): 'later' | 'one-by-one' | 'recorded' | 'unrecorded' {
    if (this.transient || !this.claimed.length) return 'later';
    if (this.claimed.length > 1) return 'one-by-one';
    return this.rescheduled ? 'recorded' : 'unrecorded';
  }
  /** Connection trouble, deadlock, serialization failure, shutdown, lack of resources: try again later. */
  get transient(): boolean {
    const code = (this.cause as { code?: string }).code ?? '';
    if (/^(08|53|57P0|40001|40P01|55P03)/.test(code)) return true;
    if (!code && /connect|terminat|timeout|ECONN|EPIPE|socket/i.test(this.cause.message)) return true;
    return false;
  }
}

export interface BatchResult {
  /** Decompressed bytes of the batch's payloads (estimated when ingest did not record them). */
  bytes: number;
  claimed: number;
  failed: number;
  events: number;
  /** It folded the issue counters before its COMMIT. */
  folded: boolean;
  /** It committed issue deltas it did not fold (a full batch, or a drained one told not to fold). */
  deltas: boolean;
  /** Events of the batch whose grouping failed (they went to the fallback issue; counted as `grouping_failed`). */
  groupingFailures: { projectId: number; eventId: string; error: string }[];
}

export interface BatchOptions {
  batchSize: number;
  /** Largest decompressed payload (MAX_ENVELOPE_BYTES). */
  maxBytes: number;
  cache: DimCache;
  /** Slot of the `digested` counter this caller adds to (0–15; default random): lanes of one process use different slots, so they never wait on each other's uncommitted row. */
  counterSlot?: number;
  /** SCRUB_MAX_DEPTH (default 100). */
  scrubMaxDepth?: number;
  /** Runs prepareBatch elsewhere (a worker thread); default: here. */
  prepare?: (rows: ArchiveRow[], maxBytes: number, rules: Record<number, ProjectRules>, scrub: ScrubPlan) => Promise<Prepared>;
  /** Applies source maps when preparing here (threads have their own). */
  symbolicator?: Symbolicator;
  /**
   * Asked when the batch drained the queue, with the number of issues it made: whether it folds the
   * issue counters before its COMMIT (default: always). The worker paces these folds (FOLD_IDLE_MS).
   */
  foldDrained?: (createdIssues: number) => boolean;
  /**
   * WORKER_MAX_ATTEMPTS. When given, a batch of one payload that fails (not transiently) records
   * the failed attempt itself (retryLater) before it lets go of the row; without it the caller does.
   */
  maxAttempts?: number;
}

/** Runs one batch on `client` (no transaction open). Returns what it did; throws on database errors (rolled back). */
export async function digestBatch(client: pg.ClientBase, opts: BatchOptions): Promise<BatchResult> {
  // One round trip opens the batch: its transaction, the shared lock ruminate waits for, and the
  // generation of the dimension tables. The batch commits without waiting for the WAL flush: if
  // PostgreSQL crashes before the flush, the whole batch (queue deletions included) is lost
  // together and digested again — the same outcome as a crash before COMMIT — while the ingest,
  // whose answer promises durability, keeps synchronous commits.
  let dims: DimRequest | null = null;
  let claimed: QueueRow[] = [];
  let keepClaim = false;
  try {
    const begun = (await client.query(`BEGIN; SET LOCAL synchronous_commit TO off;
      SELECT pg_advisory_xact_lock_shared(${DIGEST_LOCK}), (SELECT generation FROM digest_state) AS generation`)) as unknown as pg.QueryResult<{ generation: number }>[];
    const generation = begun[begun.length - 1]!.rows[0]!.generation;
    // ruminate rebuilt the dimension tables: ids we remember are gone.
    if (generation !== opts.cache.generation) {
      opts.cache.clear();
      opts.cache.generation = generation;
    }
    const batch = await claimBatch<ArchiveRow & { raw_size: number | null }>(client, opts.batchSize, `${ARCHIVE_READ_COLUMNS}, a.raw_size`);
    // Received order, so that session updates and "first event" of an issue follow arrival.
    batch.sort((a, b) => a.queue.archive_id - b.queue.archive_id);
    claimed = batch.map((b) => b.queue);
    // A payload failing alone is rescheduled while this transaction still holds its row: rolled
    // back first, it was free to claim, and another running lane took it at once: attempts came in
    // pairs (24 ms apart, not 2 s), and WORKER_MAX_ATTEMPTS could run out after half its waits
    // (test/digest/poison.test.ts).
    // Row locks taken before a savepoint survive a rollback to it. One round trip, on batches of one
    // only: 130–170 µs on a loaded 2-core box (a `SELECT 1` took 240–290 there), against a p50 of
    // ~30 ms from send to visible at 100 events/s.
    if (opts.maxAttempts !== undefined && claimed.length === 1) {
      await client.query('SAVEPOINT claimed');
      keepClaim = true;
    }
    // A batch that found fewer rows than it asked for drained the queue (it is its lane's last): it
    // folds the issue counters before its COMMIT when `foldDrained` agrees — the worker folds so at
    // most every FOLD_IDLE_MS, unless the batch made issues (fold.ts). During a backlog the worker
    // folds apart (foldNow).
    const drained = claimed.length < opts.batchSize;
    if (!claimed.length) {
      const folded = opts.foldDrained?.(0) ?? true;
      if (folded) await foldIssueCounters(client);
      await client.query('COMMIT');
      return { claimed: 0, failed: 0, events: 0, bytes: 0, folded, deltas: false, groupingFailures: [] };
    }
    // A missing archive row (deleted project or retention) leaves nothing to digest.
    const archives = batch.flatMap((b) => (b.archive ? [b.archive] : []));
    await attachDictionaries(client, archives);
    const projectIds = [...new Set(archives.map((r) => r.project_id))];
    const rules = await projectRules(client, projectIds);
    const scrub: ScrubPlan = { maxDepth: opts.scrubMaxDepth ?? 100, projects: await projectScrubbing(client, projectIds) };
    const sym = opts.symbolicator;
    const c = opts.prepare ? await opts.prepare(archives, opts.maxBytes, rules, scrub)
      : await prepareBatchWithMaps(archives, opts.maxBytes, rules, scrub, sym && ((evs) => sym.symbolicate(client, evs)));
    const failedKeys = new Map(c.failed.map((f) => [`${f.projectId}/${f.archiveId}`, f.error]));
    const failed: { row: QueueRow; error: string }[] = [];
    const done: number[] = [];
    for (const q of claimed) {
      const error = failedKeys.get(`${q.project_id}/${q.archive_id}`);
      if (error !== undefined) failed.push({ row: q, error });
      else done.push(q.id);
    }

    dims = new DimRequest(opts.cache);
    for (const w of c.events) requestDims(dims, w);
    for (const s of c.sessions) requestSessionDims(dims, s);
    for (const a of c.aggregates) requestSessionDims(dims, a);
    await dims.resolve(client);

    const projects = [...new Set(c.events.map((w) => w.projectId))].sort((a, b) => a - b);
    const counts: IssueCounts[] = [];
    for (const pid of projects) counts.push(await storeEvents(client, dims, pid, c.events.filter((w) => w.projectId === pid)));
    if (c.sessions.length || c.aggregates.length) await storeSessions(client, dims, c.sessions, c.aggregates);
    await storeExtras(client, c.extras);
    // The scrubbed payloads replace what was archived, in this transaction (src/archive/rewrite.ts).
    await rewriteArchive(client, c.rewrites);
    await failQueueRows(client, failed);
    const slot = opts.counterSlot ?? Math.floor(Math.random() * 16);
    await finishQueueRows(client, done, slot);
    const groupingFailures = c.events.flatMap((w) => (w.grouping.error === null ? [] : [{ projectId: w.projectId, eventId: w.ev.event_id, error: w.grouping.error }]));
    await countGroupingFailures(client, slot, groupingFailures.length);
    // Last: the rows other batches write too (issue users, hourly counters; see storeEvents), then the fold.
    for (const k of counts) await k.run(client);
    await storeExtraCounts(client, c.extras);
    const events = counts.reduce((n, k) => n + k.fresh, 0);
    const folded = drained && (opts.foldDrained?.(counts.reduce((n, k) => n + k.created, 0)) ?? true);
    if (folded) await foldIssueCounters(client);
    await client.query('COMMIT');
    dims.commit();
    // Compressed payloads inflate ~4× (JSON, gzip level 1) when ingest did not record the size.
    const bytes = archives.reduce((n, a) => n + (a.raw_size ?? (a.encoding === 'identity' ? a.payload.length : 4 * a.payload.length)), 0);
    return { claimed: claimed.length, failed: failed.length, events, bytes, folded, deltas: events > 0 && !folded, groupingFailures };
  } catch (e) {
    const be = new BatchError(e as Error, claimed);
    if (keepClaim && !be.transient && (await rescheduleClaimed(client, be.claimedIds, be.message, opts.maxAttempts!))) throw new BatchError(be.cause, claimed, true);
    await client.query('ROLLBACK').catch(() => {});
    throw be;
  }
}

/** In the failed batch's transaction (savepoint `claimed`): records the failed attempt and commits. False if that failed too. */
async function rescheduleClaimed(client: pg.ClientBase, ids: number[], error: string, maxAttempts: number): Promise<boolean> {
  try {
    await client.query('ROLLBACK TO SAVEPOINT claimed');
    await retryLater(client, ids, error, maxAttempts);
    await client.query('COMMIT');
    return true;
  } catch {
    return false;
  }
}
