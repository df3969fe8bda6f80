import type pg from 'pg';
import { deletePayloads, type Deleted } from '../archive/retention/delete-payloads.js';
import { recordDeletion } from '../archive/retention/record.js';
import { DIGEST_LOCK } from '../digest/batch.js';
import type { Logger } from '../log.js';
import { ISSUE_CHILD_TABLES } from './issue-children.js';

// Deleting a project and everything it owns, without one long transaction. A single
// `DELETE FROM project` would cascade through millions of archive, report and issue rows in one
// statement: minutes of row locks and WAL, and past DB_STATEMENT_TIMEOUT_MS it fails and undoes it all.
//
// 1. Mark (one short UPDATE): `deleted_at` set, the project disabled (ingest refuses its keys within
//    INGEST_KEY_CACHE_MS) and its slug freed (`~deleted-<id>`, which no slug can be), so every lookup
//    (src/storage/projects.ts) stops finding it at once and a new project may take the slug.
// 2. Batches, each its own transaction of at most `batchSize` rows per statement (RETENTION_BATCH_SIZE),
//    holding the digest lock shared as retention batches do (`ruminate` never sees one half way) with
//    lock_timeout 1 s: payloads with what was derived from them (src/archive/retention/delete-payloads.ts:
//    reports, attachments, feedback, check-ins, invalid items; queue rows by cascade), then issues with
//    their per-issue tables (ISSUE_CHILD_TABLES), then every other table that has a project_id column,
//    found in the catalog, so that a table added later (with or without a foreign key to project) is
//    emptied too. Each batch adds what it deleted to retention_deletion (kind `project`).
// 3. The project row last, once nothing of it is left (its cascades then find nothing).
//
// A process that dies between batches leaves the mark; the retention passes finish the deletion
// (kind `project`, src/archive/retention/kinds.ts). A session advisory lock per project keeps the
// request that started it and a retention pass from working on the same project at once.

/** The deletion's record kind in retention_deletion. */
export const DELETION_KIND = 'project';
/** First key of the two-key advisory lock held while a project is being deleted (second: its id). */
const DELETE_LOCK = 7310;
/** Tables with a project_id column that are not the project's to delete: the deletion's own record. */
const KEPT = new Set(['project', 'retention_deletion']);

export interface MarkedProject {
  id: number;
  slug: string;
  name: string;
}

export interface ProjectDeletion extends MarkedProject {
  deleted: Deleted;
  /** false: a batch failed (its error logged); the project stays marked and retention finishes it. */
  complete: boolean;
  ms: number;
}

/** Step 1: hides and disables the project and frees its slug. null: no such project (or already being deleted). */
export async function markProjectDeleted(db: pg.Pool | pg.ClientBase, id: number): Promise<MarkedProject | null> {
  const { rows } = await db.query<MarkedProject>(
    `UPDATE project p SET deleted_at = now(), disabled = true, slug = '~deleted-' || p.id
       FROM (SELECT id, slug FROM project WHERE id = $1 AND deleted_at IS NULL FOR UPDATE) o
      WHERE p.id = o.id
      RETURNING p.id, o.slug, p.name`, [id]);
  const r = rows[0];
  return r ? { id: Number(r.id), slug: r.slug, name: r.name } : null;
}

/** Tables with a project_id column, those that reference another of them first (foreign keys: children before parents). */
async function projectTables(client: pg.ClientBase): Promise<string[]> {
  const { rows } = await client.query<{ table: string; refs: string[] }>(
    `SELECT c.relname AS table,
            coalesce(array_agg(DISTINCT f.relname) FILTER (WHERE f.relname IS NOT NULL AND f.oid <> c.oid), '{}') AS refs
       FROM pg_attribute a
       JOIN pg_class c ON c.oid = a.attrelid AND c.relkind IN ('r', 'p')
       JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = current_schema()
       LEFT JOIN pg_constraint k ON k.conrelid = c.oid AND k.contype = 'f'
       LEFT JOIN pg_class f ON f.oid = k.confrelid
      WHERE a.attname = 'project_id' AND NOT a.attisdropped
      GROUP BY c.relname ORDER BY c.relname`);
  const tables = new Map(rows.filter((r) => !KEPT.has(r.table)).map((r) => [r.table, r.refs]));
  // A table goes after every table that references it (its cascade or restriction then finds nothing).
  const out: string[] = [];
  const left = new Set(tables.keys());
  while (left.size) {
    const ready = [...left].filter((t) => ![...left].some((u) => u !== t && tables.get(u)!.includes(t)));
    const next = ready.length ? ready : [...left]; // a cycle: cascades decide
    for (const t of next) {
      out.push(t);
      left.delete(t);
    }
  }
  return out;
}

const quote = (ident: string) => `"${ident.replace(/"/g, '""')}"`;

/**
 * Step 2/3, one batch: deletes up to `batchSize` rows of each kind of the marked project `id`, in the
 * caller's transaction. `done`: nothing was left, and the project row is gone.
 */
export async function projectDeletionBatch(client: pg.ClientBase, id: number, batchSize: number): Promise<{ deleted: Deleted; done: boolean }> {
  const deleted: Deleted = { projectId: id, events: 0, payloads: 0, payloadBytes: 0, rows: 0 };
  // Payloads, queued ones too (their queue rows go by cascade): the project's archive index.
  const payloads = await deletePayloads(client, 'SELECT a.project_id, a.id FROM archive a WHERE a.project_id = $1 LIMIT $2', [id, batchSize]);
  for (const d of payloads) {
    deleted.events += d.events;
    deleted.payloads += d.payloads;
    deleted.payloadBytes += d.payloadBytes;
    deleted.rows += d.rows;
  }
  if (deleted.payloads > 0) return { deleted, done: false };
  // Issues with their per-issue rows and any report a digest batch wrote after its payload went.
  const { rows: issues } = await client.query<{ n: string; reports: string }>(
    `WITH doomed AS MATERIALIZED (SELECT project_id, id FROM issue WHERE project_id = $1 LIMIT $2),
     r AS (DELETE FROM report x USING doomed d WHERE x.project_id = d.project_id AND x.issue_id = d.id RETURNING 1),
     ${ISSUE_CHILD_TABLES.map((t, n) => `c${n} AS (DELETE FROM ${t} x USING doomed d WHERE x.project_id = d.project_id AND x.issue_id = d.id RETURNING 1),`).join('\n     ')}
     i AS (DELETE FROM issue x USING doomed d WHERE x.project_id = d.project_id AND x.id = d.id RETURNING 1)
     SELECT (SELECT count(*) FROM i)::text AS n, (SELECT count(*) FROM r)::text AS reports,
            ${ISSUE_CHILD_TABLES.map((_t, n) => `(SELECT count(*) FROM c${n})`).join(' + ')} AS children`, [id, batchSize]);
  const n = Number(issues[0]!.n);
  if (n > 0) {
    deleted.events += Number(issues[0]!.reports);
    deleted.rows += n + Number((issues[0] as unknown as { children: string }).children);
    return { deleted, done: false };
  }
  // Everything else the project owns, table by table.
  let more = false;
  for (const t of await projectTables(client)) {
    const q = quote(t);
    const r = await client.query(`DELETE FROM ${q} WHERE ctid = ANY (ARRAY(SELECT ctid FROM ${q} WHERE project_id = $1 LIMIT $2))`, [id, batchSize]);
    const k = r.rowCount ?? 0;
    deleted.rows += k;
    if (k >= batchSize) more = true;
  }
  if (more) return { deleted, done: false };
  const p = await client.query('DELETE FROM project WHERE id = $1 AND deleted_at IS NOT NULL', [id]);
  deleted.rows += p.rowCount ?? 0;
  return { deleted, done: true };
}

/** One batch in a transaction of its own, recorded; lock waits over 1 s fail the batch (it is tried again). */
async function batchTransaction(client: pg.ClientBase, id: number, batchSize: number): Promise<{ deleted: Deleted; done: boolean }> {
  await client.query('BEGIN');
  try {
    await client.query("SET LOCAL lock_timeout = '1s'; SET LOCAL statement_timeout = '60s'");
    await client.query('SELECT pg_advisory_xact_lock_shared($1)', [DIGEST_LOCK]);
    const r = await projectDeletionBatch(client, id, batchSize);
    if (r.deleted.rows + r.deleted.payloads + r.deleted.events > 0) await recordDeletion(client, DELETION_KIND, [r.deleted]);
    await client.query('COMMIT');
    return r;
  } catch (e) {
    await client.query('ROLLBACK').catch(() => {});
    throw e;
  }
}

/** Lock waits and deadlocks with a digest batch of the project: worth another try. */
const RETRYABLE = new Set(['55P03', '40P01', '40001']);
const MAX_RETRIES = 50;

/**
 * Deletes project `id` and everything it owns (steps 1–3 above), as `by` (a user's e-mail, `cli`…),
 * logged. null: no such project. Returns once the project is gone, or, when a batch keeps failing,
 * with `complete: false` (the project is then hidden and disabled, and retention finishes it).
 */
export async function deleteProject(pool: pg.Pool, id: number, opts: { batchSize?: number; log?: Logger; by?: string } = {}): Promise<ProjectDeletion | null> {
  const started = Date.now();
  id = Number(id); // a bigint read without the server's type parser comes as a string
  const marked = await markProjectDeleted(pool, id);
  if (!marked) return null;
  opts.log?.info('project deletion started', { project_id: id, slug: marked.slug, name: marked.name, by: opts.by });
  const total: Deleted = { projectId: id, events: 0, payloads: 0, payloadBytes: 0, rows: 0 };
  let complete = false;
  const client = await pool.connect();
  try {
    await client.query('SELECT pg_advisory_lock($1, $2)', [DELETE_LOCK, lockKey(id)]);
    try {
      let retries = 0;
      while (!complete) {
        try {
          const r = await batchTransaction(client, id, opts.batchSize ?? 500);
          total.events += r.deleted.events;
          total.payloads += r.deleted.payloads;
          total.payloadBytes += r.deleted.payloadBytes;
          total.rows += r.deleted.rows;
          complete = r.done;
        } catch (e) {
          const code = (e as { code?: string }).code ?? '';
          if (!RETRYABLE.has(code) || ++retries > MAX_RETRIES) throw e;
          await new Promise((r) => setTimeout(r, 100));
        }
      }
    } finally {
      await client.query('SELECT pg_advisory_unlock($1, $2)', [DELETE_LOCK, lockKey(id)]).catch(() => {});
    }
  } catch (e) {
    opts.log?.warn('project deletion interrupted; retention passes will finish it', { project_id: id, error: (e as Error).message });
  } finally {
    client.release();
  }
  const ms = Date.now() - started;
  const fields = { project_id: id, slug: marked.slug, name: marked.name, by: opts.by, events: total.events, payloads: total.payloads, payload_bytes: total.payloadBytes, rows: total.rows, ms };
  if (complete) opts.log?.info('project deleted', fields);
  return { ...marked, deleted: total, complete, ms };
}

/** The second key of a project's deletion lock (int4). */
const lockKey = (id: number) => id % 2_147_483_647;

/**
 * For retention's `project` kind: one batch of the oldest marked project that no one is deleting now
 * (in the caller's transaction), or null when there is none.
 */
export async function resumeProjectDeletion(client: pg.ClientBase, batchSize: number): Promise<{ deleted: Deleted; done: boolean } | null> {
  const { rows } = await client.query<{ id: string }>(
    `SELECT id FROM project WHERE deleted_at IS NOT NULL AND pg_try_advisory_xact_lock($1, (id % 2147483647)::int)
      ORDER BY deleted_at LIMIT 1`, [DELETE_LOCK]);
  if (!rows[0]) return null;
  return projectDeletionBatch(client, Number(rows[0].id), batchSize);
}
