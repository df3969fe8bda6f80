import type pg from 'pg';

// How much disk crash-cache uses. PostgreSQL does not shrink a table's files after DELETE: VACUUM
// records the freed space in the relation's free space map and later inserts reuse it. So the budget
// compares the space in use — the files' size minus what the free space maps say is free — and the
// files themselves stop growing once deletions keep the space in use under the budget (measured by
// the bench's soak phase, BENCHMARKS.md). Everything in the `public` schema counts: tables, their
// TOAST tables and all indexes.

/** Relations with storage of the schema: tables, their indexes, TOAST tables. */
const RELATIONS = `
  SELECT c.oid FROM pg_class c
   WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'i', 'm')
  UNION ALL
  SELECT c.reltoastrelid FROM pg_class c
   WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'm') AND c.reltoastrelid <> 0`;

/** Bytes of every file of the schema (tables, TOAST, indexes; free space inside them included). */
export async function diskBytes(db: pg.Pool | pg.ClientBase): Promise<number> {
  const { rows } = await db.query<{ n: string }>(
    `SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0)::text AS n FROM pg_class c
      WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'm')`);
  return Number(rows[0]!.n);
}

/** Whether the free space maps can be read (the pg_freespacemap extension, migrations/0017). */
export async function canMeasureFreeSpace(db: pg.Pool | pg.ClientBase): Promise<boolean> {
  const { rows } = await db.query("SELECT 1 FROM pg_extension WHERE extname = 'pg_freespacemap'");
  return rows.length > 0;
}

/**
 * Bytes the free space maps record as free (reusable by inserts; as of the last VACUUM of each
 * relation). Reads every map: about 1/4000 of the data's size (20 GB: ~5 MB).
 */
export async function freeBytes(db: pg.Pool | pg.ClientBase): Promise<number> {
  const { rows } = await db.query<{ n: string }>(
    `SELECT coalesce(sum(f.avail), 0)::text AS n FROM (${RELATIONS}) r(oid), LATERAL pg_freespace(r.oid::regclass) f`);
  return Number(rows[0]!.n);
}

/**
 * Bytes in use (files minus free space) of `tables` with their indexes and TOAST: what the budget
 * expects to free per payload is the archive's and the reports' use divided by the payloads.
 */
export async function tablesUse(db: pg.Pool | pg.ClientBase, tables: string[]): Promise<number> {
  const { rows } = await db.query<{ n: string }>(
    `WITH t AS (SELECT c.oid FROM pg_class c WHERE c.relnamespace = 'public'::regnamespace AND c.relname = ANY($1::text[])),
          r AS (SELECT oid FROM t UNION ALL SELECT indexrelid FROM pg_index WHERE indrelid IN (SELECT oid FROM t)
                UNION ALL SELECT reltoastrelid FROM pg_class WHERE oid IN (SELECT oid FROM t) AND reltoastrelid <> 0)
     SELECT ((SELECT coalesce(sum(pg_relation_size(oid)), 0) FROM r)
           - (SELECT coalesce(sum(f.avail), 0) FROM r, LATERAL pg_freespace(r.oid::regclass) f))::text AS n`, [tables]);
  return Math.max(0, Number(rows[0]!.n));
}

export interface StorageUse {
  /** Size of the files. */
  diskBytes: number;
  /** Of which free for reuse. */
  freeBytes: number;
  /** diskBytes − freeBytes: what the budget compares. */
  usedBytes: number;
}

export async function storageUse(db: pg.Pool | pg.ClientBase): Promise<StorageUse> {
  const disk = await diskBytes(db);
  const free = await freeBytes(db);
  return { diskBytes: disk, freeBytes: free, usedBytes: Math.max(0, disk - free) };
}

export interface ProjectStorage {
  projectId: number;
  slug: string;
  events: number;
  payloads: number;
  payloadBytes: number;
  /** Estimated: the project's share of the archive (by stored bytes) and of the report table (by rows). */
  totalBytes: number;
  oldestReceived: Date | null;
  retentionDays: number | null;
  maxEventsPerIssue: number | null;
}

/**
 * Per-project storage: events, payloads and their bytes (counted: reads every archive row's header
 * and every report index entry of the project(s), seconds for tens of millions), the estimated total
 * and the oldest payload kept.
 */
export async function projectStorage(db: pg.Pool | pg.ClientBase, projectId?: number): Promise<ProjectStorage[]> {
  const { rows } = await db.query<{ id: number; slug: string; events: string; payloads: string; payload_bytes: string; oldest: Date | null; retention_days: number | null; max_events_per_issue: number | null; archive_total: string; archive_bytes: string; report_total: string; report_rows: string }>(
    `WITH a AS (SELECT project_id, count(*) AS payloads, sum(stored_size) AS bytes FROM archive WHERE $1::bigint IS NULL OR project_id = $1 GROUP BY 1),
          r AS (SELECT project_id, count(*) AS events FROM report WHERE $1::bigint IS NULL OR project_id = $1 GROUP BY 1)
     SELECT p.id, p.slug, coalesce(r.events, 0)::text AS events, coalesce(a.payloads, 0)::text AS payloads, coalesce(a.bytes, 0)::text AS payload_bytes,
            (SELECT received_at FROM archive x WHERE x.project_id = p.id ORDER BY x.id LIMIT 1) AS oldest,
            p.retention_days, p.max_events_per_issue,
            pg_total_relation_size('archive')::text AS archive_total, (SELECT coalesce(sum(bytes), 0) FROM a)::text AS archive_bytes,
            pg_total_relation_size('report')::text AS report_total, greatest((SELECT reltuples FROM pg_class WHERE oid = 'report'::regclass), 1)::text AS report_rows
       FROM project p LEFT JOIN a ON a.project_id = p.id LEFT JOIN r ON r.project_id = p.id
      WHERE $1::bigint IS NULL OR p.id = $1
      ORDER BY p.id`, [projectId ?? null]);
  return rows.map((r) => {
    const payloadBytes = Number(r.payload_bytes);
    const events = Number(r.events);
    const archiveShare = projectId === undefined && Number(r.archive_bytes) > 0 ? payloadBytes / Number(r.archive_bytes) : 0;
    // A single project's share of the archive file is estimated from its bytes alone (the others are not summed then).
    const archivePart = projectId === undefined ? archiveShare * Number(r.archive_total) : payloadBytes;
    const reportPart = Math.min(1, events / Number(r.report_rows)) * Number(r.report_total);
    return {
      projectId: Number(r.id), slug: r.slug, events, payloads: Number(r.payloads), payloadBytes,
      totalBytes: Math.round(archivePart + reportPart), oldestReceived: r.oldest,
      retentionDays: r.retention_days, maxEventsPerIssue: r.max_events_per_issue,
    };
  });
}
