import type pg from 'pg';
import { DIGEST_LOCK } from '../../digest/batch.js';
import type { Logger } from '../../log.js';
import type { Deleted } from './delete-payloads.js';
import { recordDeletion } from './record.js';
import { BUDGET_KIND, RETENTION_KINDS, type KindContext, type RetentionKind } from './kinds.js';
import { storageUse, tablesUse, type StorageUse } from './size.js';

// One retention pass: every kind's batches (kinds.ts), then the disk budget. Any worker process may
// start one; a session advisory lock lets one run at a time and the others skip theirs. Each batch
// is its own short transaction (RETENTION_BATCH_SIZE rows, tens of milliseconds), holding the digest
// lock shared as digest batches do, so `ruminate` (exclusive) never sees a pass half way; the rows
// it deletes are old, and no one else waits on them. A dry run does the same in one transaction that
// is rolled back.
//
// The budget bounds the files' size (STORAGE_MAX_BYTES); past it, the pass deletes the oldest
// payloads until the space in use (files minus the free space VACUUM recorded, size.ts) is under
// STORAGE_LOW_WATER_PERCENT of it, so that ingest fills freed space instead of growing the files.
// A round deletes as many payloads as, at the current average size per payload (the space archive
// and report use / payloads), bring it there; VACUUM makes their space reusable; the space in use is
// measured again, and another round corrects what one misjudged (index pages freed by a delete become
// reusable only at a later VACUUM, so a round tends to free a little less than it aimed at, never
// much more). Keeping the space in use under the low-water mark rather than under the budget leaves
// room for what fragments the free space (a freed slot smaller than the next row): measured by the
// bench's soak, the files then stay within ~1.1 × the budget (BENCHMARKS.md).

/** Session advisory lock of the pass (any 64-bit number unused elsewhere; see DIGEST_LOCK). */
export const RETENTION_LOCK = 7_310_224_016;

/** Tables a pass deletes from, vacuumed after it so that their space is reused. */
const VACUUMED = ['archive', 'report', 'attachment', 'user_report', 'check_in', 'item_invalid', 'queue_error',
  'issue', 'issue_hash', 'issue_user', 'issue_tag', 'session_hourly', 'session_user_hourly', 'client_report_hourly',
  'item_count_hourly', 'session_state', 'outcome'];

/** Budget rounds per pass (each: delete, VACUUM, measure). */
const MAX_ROUNDS = 4;

/** What deleting a payload frees: its archive row and its reports (with their indexes). */
const PER_PAYLOAD = ['archive', 'report', 'attachment'];

export interface RetentionOptions {
  defaultDays: number;
  /** SOURCEMAP_RETENTION_DAYS (the `sourcemaps` kind). */
  sourcemapDays: number;
  batchSize: number;
  /** STORAGE_MAX_BYTES; undefined = no budget. */
  budgetBytes?: number;
  lowWaterPercent: number;
  dryRun?: boolean;
}

export interface KindTotal extends Deleted {
  kind: string;
}

export interface PassResult {
  /** Per kind and project (project 0: rows of no project). */
  deleted: KindTotal[];
  /** Space before the budget step (and after the other kinds' VACUUM); null without a budget. */
  before: StorageUse | null;
  after: StorageUse | null;
  /** Payloads the budget asked for. */
  budgetPayloads: number;
  ms: number;
}

/** Runs one pass on a connection of `pool`; null when another process is running one. */
export async function runRetentionPass(pool: pg.Pool, opts: RetentionOptions, log?: Logger): Promise<PassResult | null> {
  const client = await pool.connect();
  try {
    const { rows } = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1) AS ok', [RETENTION_LOCK]);
    if (!rows[0]!.ok) return null;
    try {
      const result = await pass(client, opts);
      if (log && result.deleted.length) {
        const byKind: Record<string, Omit<Deleted, 'projectId'>> = {};
        for (const d of result.deleted) {
          const k = (byKind[d.kind] ??= { events: 0, payloads: 0, payloadBytes: 0, rows: 0 });
          k.events += d.events;
          k.payloads += d.payloads;
          k.payloadBytes += d.payloadBytes;
          k.rows += d.rows;
        }
        log.info(opts.dryRun ? 'retention dry run' : 'retention deleted', { ...byKind, used_bytes: result.after?.usedBytes, ms: result.ms });
      }
      return result;
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [RETENTION_LOCK]).catch(() => {});
    }
  } finally {
    client.release();
  }
}

async function pass(client: pg.ClientBase, opts: RetentionOptions): Promise<PassResult> {
  const started = Date.now();
  const totals = new Map<string, KindTotal>();
  const add = (kind: string, ds: Deleted[]) => {
    for (const d of ds) {
      const key = `${kind}/${d.projectId}`;
      const t = totals.get(key) ?? { kind, projectId: d.projectId, events: 0, payloads: 0, payloadBytes: 0, rows: 0 };
      t.events += d.events;
      t.payloads += d.payloads;
      t.payloadBytes += d.payloadBytes;
      t.rows += d.rows;
      totals.set(key, t);
    }
  };
  const ctx: KindContext = { defaultDays: opts.defaultDays, batchSize: opts.batchSize, budgetPayloads: 0, sourcemapDays: opts.sourcemapDays };
  if (opts.dryRun) await client.query('BEGIN');
  try {
    const runKind = async (kind: RetentionKind) => {
      for (;;) {
        const r = await batch(client, kind, ctx, !!opts.dryRun);
        if (r === null) return; // exclusive kind while the digest works: next pass
        add(kind.name, r.deleted);
        if (!r.more) return;
      }
    };
    for (const kind of RETENTION_KINDS) await runKind(kind);
    let before: StorageUse | null = null;
    let after: StorageUse | null = null;
    let budgetPayloads = 0;
    if (opts.budgetBytes !== undefined) {
      if (!opts.dryRun && totals.size) await vacuum(client);
      before = await storageUse(client);
      after = before;
      // Past the budget (the files' size: the space in use is never more), delete until the space in
      // use is under the low-water mark, measuring again after each round (at most MAX_ROUNDS: a round
      // frees a little less than it aims at while index pages wait for a later VACUUM to be reused).
      const low = (opts.budgetBytes * opts.lowWaterPercent) / 100;
      for (let round = 0; round < MAX_ROUNDS && before.diskBytes > opts.budgetBytes && after.usedBytes > low; round++) {
        const payloads = await payloadCount(client);
        const perPayload = Math.max(1, await tablesUse(client, PER_PAYLOAD)) / Math.max(1, payloads);
        const want = Math.min(payloads, Math.ceil((after.usedBytes - low) / perPayload));
        budgetPayloads += want;
        ctx.budgetPayloads = want;
        await runKind(BUDGET_KIND);
        if (opts.dryRun || ctx.budgetPayloads === want) break; // dry, or nothing left to delete (all queued)
        await vacuum(client);
        after = await storageUse(client);
      }
      if (opts.dryRun && budgetPayloads) after = null;
    } else if (!opts.dryRun && [...totals.values()].some((t) => t.payloads > 0)) {
      // Without a budget autovacuum would get there too, but only past 20 % dead rows of a table.
      await vacuum(client);
    }
    return { deleted: [...totals.values()], before, after, budgetPayloads, ms: Date.now() - started };
  } finally {
    if (opts.dryRun) await client.query('ROLLBACK');
  }
}

/** One batch of a kind in its own transaction (or, dry, in the pass's), recorded in retention_deletion. */
async function batch(client: pg.ClientBase, kind: RetentionKind, ctx: KindContext, dry: boolean) {
  if (!dry) await client.query('BEGIN');
  try {
    // A lock held elsewhere is waited for at most 1 s (the statement then fails and the pass ends);
    // the statement itself is bounded by the batch size.
    await client.query(dry ? "SET LOCAL lock_timeout = '1s'" : "SET LOCAL lock_timeout = '1s'; SET LOCAL statement_timeout = '60s'");
    if (kind.exclusive) {
      const { rows } = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_xact_lock($1) AS ok', [DIGEST_LOCK]);
      if (!rows[0]!.ok) {
        if (!dry) await client.query('ROLLBACK');
        return null;
      }
    } else await client.query('SELECT pg_advisory_xact_lock_shared($1)', [DIGEST_LOCK]);
    const r = await kind.batch(client, ctx);
    if (r.deleted.length && !dry) await recordDeletion(client, kind.name, r.deleted);
    if (!dry) await client.query('COMMIT');
    return r;
  } catch (e) {
    if (!dry) await client.query('ROLLBACK').catch(() => {});
    throw e;
  }
}

/** Archive rows: the planner's estimate once VACUUM/ANALYZE made one, else counted. */
async function payloadCount(client: pg.ClientBase): Promise<number> {
  const { rows } = await client.query<{ n: number }>("SELECT reltuples::float8 AS n FROM pg_class WHERE oid = 'archive'::regclass");
  const est = rows[0]?.n ?? -1;
  if (est > 0) return est;
  const c = await client.query<{ n: string }>('SELECT count(*)::text AS n FROM archive');
  return Number(c.rows[0]!.n);
}

/**
 * Records the deleted rows' space as free, for the next inserts and the budget's measure. Not FULL:
 * no exclusive lock; ingest and digest go on. It reads only the pages changed since the last VACUUM
 * (the visibility map), and skips a table someone locks.
 */
async function vacuum(client: pg.ClientBase): Promise<void> {
  await client.query(`VACUUM (SKIP_LOCKED) ${VACUUMED.join(', ')}`);
}

/** Deletions of the last 24 hours, for /health. */
export async function deletions24h(db: pg.Pool | pg.ClientBase): Promise<{ events: number; payloads: number; payload_bytes: number; rows: number }> {
  const { rows } = await db.query<{ events: string; payloads: string; bytes: string; rows: string }>(
    `SELECT coalesce(sum(events), 0)::text AS events, coalesce(sum(payloads), 0)::text AS payloads,
            coalesce(sum(payload_bytes), 0)::text AS bytes, coalesce(sum(rows), 0)::text AS rows
       FROM retention_deletion WHERE hour >= date_trunc('hour', now() - interval '24 hours')`);
  const r = rows[0]!;
  return { events: Number(r.events), payloads: Number(r.payloads), payload_bytes: Number(r.bytes), rows: Number(r.rows) };
}
