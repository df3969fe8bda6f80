import type pg from 'pg';
import type { Bundle } from './bundle.js';

// Every statement on the source-map tables (migrations/0030_sourcemaps.sql): chunks, bundles, their
// files and the deduplicated file contents.

type Db = pg.Pool | pg.ClientBase;

/**
 * Whose bundles: a project's (its id), or the organization's (null: release files posted to
 * organizations/{org}/releases/{version}/files/, migrations/0042). The upload paths use OWNER with the id as $1.
 */
export type Owner = number | null;
const OWNER = '(project_id = $1::bigint OR ($1::bigint IS NULL AND project_id IS NULL))';
/** What symbolication reads for a project: its own files and the organization's ($1 is the project). */
const READABLE = '(project_id = $1 OR project_id IS NULL)';

const hex = (b: Buffer) => b.toString('hex');

/** Stores chunks (already checked against their sha1); a chunk already there is kept as it is. */
export async function insertChunks(db: Db, chunks: { sha1: Buffer; data: Buffer }[]): Promise<void> {
  for (const c of chunks) {
    await db.query('INSERT INTO upload_chunk (sha1, data) VALUES ($1, $2) ON CONFLICT (sha1) DO NOTHING', [c.sha1, c.data]);
  }
}

/** The stored size of each chunk found (by hex sha1). */
export async function chunkSizes(db: Db, sha1s: Buffer[]): Promise<Map<string, number>> {
  const { rows } = await db.query<{ sha1: Buffer; size: number }>(
    'SELECT sha1, length(data) AS size FROM upload_chunk WHERE sha1 = ANY($1::bytea[])', [sha1s]);
  return new Map(rows.map((r) => [hex(r.sha1), r.size]));
}

/** Concatenates chunks in order; a chunk that went missing meanwhile makes this return null. */
export async function joinChunks(db: Db, sha1s: Buffer[]): Promise<Buffer | null> {
  const parts: Buffer[] = [];
  // One at a time: holding the whole result set and the joined copy would double the peak memory.
  for (const s of sha1s) {
    const { rows } = await db.query<{ data: Buffer }>('SELECT data FROM upload_chunk WHERE sha1 = $1', [s]);
    if (!rows[0]) return null;
    parts.push(rows[0].data);
  }
  return Buffer.concat(parts);
}

export interface BundleRow {
  id: number;
  state: 'assembling' | 'ok' | 'error';
  detail: string | null;
  age_secs: number;
}

export async function findBundle(db: Db, projectId: number, sha1: Buffer): Promise<BundleRow | null> {
  const { rows } = await db.query<BundleRow>(
    `SELECT id::int, state, detail, extract(epoch FROM now() - created_at)::float8 AS age_secs
       FROM artifact_bundle WHERE project_id = $1 AND sha1 = $2`, [projectId, sha1]);
  return rows[0] ?? null;
}

/** Takes the bundle for assembly: true when this caller inserted it (or took over a stale or failed attempt). */
export async function claimBundle(db: Db, projectId: number, sha1: Buffer, release: string, dist: string, staleSecs: number): Promise<boolean> {
  const { rowCount } = await db.query(
    `INSERT INTO artifact_bundle (project_id, sha1, state, release, dist) VALUES ($1, $2, 'assembling', $3, $4)
     ON CONFLICT (project_id, sha1) DO UPDATE SET state = 'assembling', detail = NULL, created_at = now(), release = $3, dist = $4
       WHERE artifact_bundle.state = 'error'
          OR (artifact_bundle.state = 'assembling' AND artifact_bundle.created_at < now() - $5 * interval '1 second')`,
    [projectId, sha1, release, dist, staleSecs]);
  return rowCount === 1;
}

export async function failBundle(db: Db, projectId: number, sha1: Buffer, detail: string): Promise<void> {
  await db.query(`UPDATE artifact_bundle SET state = 'error', detail = $3 WHERE project_id = $1 AND sha1 = $2`, [projectId, sha1, detail.slice(0, 1000)]);
}

/**
 * Stores an unpacked bundle and marks it ok, in the caller's transaction; returns an error text instead
 * when the project would pass `maxProjectBytes`. Serialized per project, so two uploads cannot both fit.
 */
export async function storeBundle(client: pg.ClientBase, projectId: Owner, sha1: Buffer, bundle: Bundle, chunks: Buffer[], maxProjectBytes: number): Promise<string | null> {
  // (the organization's files lock as project 0, which no project is)
  await client.query('SELECT pg_advisory_xact_lock(73102240, $1::int)', [projectId ?? 0]);
  const { rows } = await client.query<{ total: string }>(
    `SELECT coalesce(sum(size), 0) AS total FROM artifact_bundle WHERE ${OWNER} AND state = 'ok'`, [projectId]);
  const total = Number(rows[0]!.total);
  if (total + bundle.size > maxProjectBytes) {
    return `the ${projectId === null ? "organization's release files" : "project's source-map bundles"} would hold ${total + bundle.size} bytes, over SOURCEMAP_MAX_PROJECT_BYTES (${maxProjectBytes}); delete or let older bundles expire (SOURCEMAP_RETENTION_DAYS)`;
  }
  const { rows: b } = await client.query<{ id: string }>(`SELECT id FROM artifact_bundle WHERE ${OWNER} AND sha1 = $2`, [projectId, sha1]);
  const bundleId = b[0]!.id;
  for (const f of bundle.files) {
    await client.query('INSERT INTO artifact_blob (sha1, size, data) VALUES ($1, $2, $3) ON CONFLICT (sha1) DO NOTHING', [f.sha1, f.data.length, f.data]);
  }
  await client.query(
    `INSERT INTO artifact_file (bundle_id, project_id, path, kind, url, debug_id, sourcemap, blob_sha1)
     SELECT $1, $2, * FROM unnest($3::text[], $4::text[], $5::text[], $6::uuid[], $7::text[], $8::bytea[])
     ON CONFLICT DO NOTHING`,
    [bundleId, projectId, bundle.files.map((f) => f.path), bundle.files.map((f) => f.kind), bundle.files.map((f) => f.url),
      bundle.files.map((f) => f.debugId), bundle.files.map((f) => f.sourcemap), bundle.files.map((f) => f.sha1)]);
  await client.query(`UPDATE artifact_bundle SET state = 'ok', detail = NULL, size = $2, file_count = $3, last_used_at = now() WHERE id = $1`,
    [bundleId, bundle.size, bundle.files.length]);
  await client.query('DELETE FROM upload_chunk WHERE sha1 = ANY($1::bytea[])', [chunks]);
  return null;
}

export interface FileRow {
  bundle_id: string;
  kind: string;
  url: string;
  debug_id: string | null;
  sourcemap: string | null;
  blob_sha1: Buffer;
}

/** Stores one release file as a bundle of its own (origin 'release_file'); 'conflict' when one of that release, dist and name exists. */
export async function storeReleaseFile(client: pg.ClientBase, projectId: Owner, key: Buffer, release: string, dist: string, bundle: Bundle, maxProjectBytes: number): Promise<'conflict' | string | null> {
  const { rowCount } = await client.query(
    `INSERT INTO artifact_bundle (project_id, sha1, origin, state, release, dist) VALUES ($1, $2, 'release_file', 'assembling', $3, $4)
     ON CONFLICT ${projectId === null ? '(sha1) WHERE project_id IS NULL' : '(project_id, sha1)'} DO NOTHING`, [projectId, key, release, dist]);
  if (rowCount !== 1) return 'conflict';
  return storeBundle(client, projectId, key, bundle, [], maxProjectBytes);
}

export interface ReleaseFileRow {
  id: string;
  url: string;
  dist: string;
  kind: string;
  sourcemap: string | null;
  debug_id: string | null;
  size: string;
  sha1: Buffer;
  created_at: Date;
}

/** The release files of a project's release, or of the organization's (oldest first). */
export async function listReleaseFiles(db: Db, projectId: Owner, release: string): Promise<ReleaseFileRow[]> {
  const { rows } = await db.query<ReleaseFileRow>(
    `SELECT b.id::text, f.url, b.dist, f.kind, f.sourcemap, f.debug_id::text, o.size::text, f.blob_sha1 AS sha1, b.created_at
       FROM artifact_bundle b JOIN artifact_file f ON f.bundle_id = b.id JOIN artifact_blob o ON o.sha1 = f.blob_sha1
      WHERE (b.project_id = $1::bigint OR ($1::bigint IS NULL AND b.project_id IS NULL)) AND b.release = $2 AND b.origin = 'release_file' AND b.state = 'ok'
      ORDER BY b.id`, [projectId, release]);
  return rows;
}

/** Files with these debug ids in the project's assembled bundles (then the organization's), newest bundle first. */
export async function filesByDebugId(db: Db, projectId: number, debugIds: string[]): Promise<FileRow[]> {
  const { rows } = await db.query<FileRow>(
    `SELECT f.bundle_id, f.kind, f.url, f.debug_id::text, f.sourcemap, f.blob_sha1
       FROM artifact_file f JOIN artifact_bundle b ON b.id = f.bundle_id AND b.state = 'ok'
      WHERE (f.project_id = $1 OR f.project_id IS NULL) AND f.debug_id = ANY($2::uuid[])
      ORDER BY f.project_id IS NULL, f.bundle_id DESC`, [projectId, debugIds]);
  return rows;
}

/** Files at these urls in the project's bundles of one release and dist (then the organization's), newest bundle first. */
export async function filesByUrl(db: Db, projectId: number, release: string, dist: string, urls: string[]): Promise<FileRow[]> {
  const { rows } = await db.query<FileRow>(
    `SELECT f.bundle_id, f.kind, f.url, f.debug_id::text, f.sourcemap, f.blob_sha1
       FROM artifact_file f JOIN artifact_bundle b ON b.id = f.bundle_id AND b.state = 'ok'
      WHERE (f.project_id = $1 OR f.project_id IS NULL) AND b.release = $2 AND b.dist = $3 AND f.url = ANY($4::text[])
      ORDER BY f.project_id IS NULL, f.bundle_id DESC`, [projectId, release, dist, urls]);
  return rows;
}

/** Whether the project (or the organization) has any assembled bundle for this release (then a frame without a file is worth an error). */
export async function releaseHasBundles(db: Db, projectId: number, release: string, dist: string): Promise<boolean> {
  const { rows } = await db.query(
    `SELECT 1 FROM artifact_bundle WHERE ${READABLE} AND release = $2 AND dist = $3 AND state = 'ok' LIMIT 1`, [projectId, release, dist]);
  return rows.length > 0;
}

export async function readBlobs(db: Db, sha1s: Buffer[]): Promise<Map<string, Buffer>> {
  const { rows } = await db.query<{ sha1: Buffer; data: Buffer }>('SELECT sha1, data FROM artifact_blob WHERE sha1 = ANY($1::bytea[])', [sha1s]);
  return new Map(rows.map((r) => [hex(r.sha1), r.data]));
}

/** Marks bundles used (at most once an hour each, so symbolication does not write on every batch). */
export async function touchBundles(db: Db, ids: string[]): Promise<void> {
  if (!ids.length) return;
  await db.query(`UPDATE artifact_bundle SET last_used_at = now() WHERE id = ANY($1::bigint[]) AND last_used_at < now() - interval '1 hour'`, [ids]);
}

/**
 * Retention (the `sourcemaps` kind of src/archive/retention/kinds.ts): bundles unused for `days`,
 * chunks older than a day, and contents no file points at any more. `byProject`: bundles per project.
 */
export async function pruneSourcemaps(db: Db, days: number): Promise<{ bundles: number; chunks: number; blobs: number; byProject: Map<number, number> }> {
  const b = await db.query<{ project_id: string | null }>(`DELETE FROM artifact_bundle WHERE last_used_at < now() - $1 * interval '1 day' RETURNING project_id`, [days]);
  const c = await db.query(`DELETE FROM upload_chunk WHERE created_at < now() - interval '1 day'`);
  const o = await db.query(`DELETE FROM artifact_blob o WHERE NOT EXISTS (SELECT 1 FROM artifact_file f WHERE f.blob_sha1 = o.sha1)`);
  const byProject = new Map<number, number>();
  // (the organization's release files belong to no project: counted in bundles only)
  for (const r of b.rows) if (r.project_id !== null) byProject.set(Number(r.project_id), (byProject.get(Number(r.project_id)) ?? 0) + 1);
  return { bundles: b.rowCount ?? 0, chunks: c.rowCount ?? 0, blobs: o.rowCount ?? 0, byProject };
}
