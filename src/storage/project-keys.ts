import { randomBytes } from 'node:crypto';
import type pg from 'pg';
import type { ProjectKeyRow } from './projects.js';

// A project's DSN keys (table project_key, migrations/0001 and 0032), for the API, the UI and the CLI
// alike. Ingest reads them through its own cached lookup (src/ingest/keys.ts): a change here takes
// effect there within INGEST_KEY_CACHE_MS.

type Db = pg.Pool | pg.ClientBase;

const COLUMNS = 'public_key, project_id, label, disabled, rate_limit_count, rate_limit_window, replaced_by, created_at';

/** A key's rate limit: at most `count` error events per `window` seconds (Sentry's rateLimit). */
export interface KeyRateLimit {
  count: number;
  window: number;
}

export const MAX_LABEL_CHARS = 64;
/** Sentry's bound on a key's window: a day. */
export const MAX_WINDOW_SECS = 86_400;

/** A new random public key: 32 hex digits, as Sentry's. */
export function newPublicKey(): string {
  return randomBytes(16).toString('hex');
}

/** What is wrong with a label, or null. */
export function labelProblem(label: string): string | null {
  if (!label.trim()) return 'a key needs a name';
  if (label.length > MAX_LABEL_CHARS) return `a key's name is at most ${MAX_LABEL_CHARS} characters`;
  return null;
}

/**
 * A rate limit as the API or a form gives it: null, or {count, window} with count and window whole
 * numbers; a count or window of 0 (or null) means none, as in Sentry. A string names the problem.
 */
export function parseKeyRateLimit(v: unknown): KeyRateLimit | null | string {
  if (v === null) return null;
  if (typeof v !== 'object' || Array.isArray(v)) return 'rateLimit must be an object {"count": N, "window": SECONDS} or null';
  const { count, window } = v as Record<string, unknown>;
  const whole = (x: unknown) => x === null || x === undefined || (typeof x === 'number' && Number.isInteger(x) && x >= 0);
  if (!whole(count) || (typeof count === 'number' && count > 2_147_483_647)) return 'rateLimit.count must be a whole number ≥ 0';
  if (!whole(window) || (typeof window === 'number' && window > MAX_WINDOW_SECS)) return `rateLimit.window must be a whole number of seconds from 0 to ${MAX_WINDOW_SECS}`;
  if (!count || !window) return null;
  return { count: count as number, window: window as number };
}

export async function listKeys(db: Db, projectId: number): Promise<ProjectKeyRow[]> {
  const { rows } = await db.query<ProjectKeyRow>(`SELECT ${COLUMNS} FROM project_key WHERE project_id = $1 ORDER BY created_at, public_key`, [projectId]);
  return rows;
}

export async function getKey(db: Db, projectId: number, publicKey: string): Promise<ProjectKeyRow | null> {
  const { rows } = await db.query<ProjectKeyRow>(`SELECT ${COLUMNS} FROM project_key WHERE project_id = $1 AND public_key = $2`, [projectId, publicKey]);
  return rows[0] ?? null;
}

export async function createKey(db: Db, projectId: number, opts: { label: string; rateLimit?: KeyRateLimit | null }): Promise<ProjectKeyRow> {
  const { rows } = await db.query<ProjectKeyRow>(
    `INSERT INTO project_key (public_key, project_id, label, rate_limit_count, rate_limit_window) VALUES ($1, $2, $3, $4, $5) RETURNING ${COLUMNS}`,
    [newPublicKey(), projectId, opts.label.trim(), opts.rateLimit?.count ?? null, opts.rateLimit?.window ?? null]);
  return rows[0]!;
}

/** Changes a key's name, state and/or rate limit (undefined: left as it is; rateLimit null: none). null: no such key. */
export async function updateKey(db: Db, projectId: number, publicKey: string, f: { label?: string; active?: boolean; rateLimit?: KeyRateLimit | null }): Promise<ProjectKeyRow | null> {
  const setLimit = f.rateLimit !== undefined;
  const { rows } = await db.query<ProjectKeyRow>(
    `UPDATE project_key SET label = coalesce($3, label), disabled = coalesce(NOT $4::boolean, disabled),
            rate_limit_count = CASE WHEN $5 THEN $6::int ELSE rate_limit_count END,
            rate_limit_window = CASE WHEN $5 THEN $7::int ELSE rate_limit_window END
      WHERE project_id = $1 AND public_key = $2 RETURNING ${COLUMNS}`,
    [projectId, publicKey, f.label?.trim() ?? null, f.active ?? null, setLimit, f.rateLimit?.count ?? null, f.rateLimit?.window ?? null]);
  return rows[0] ?? null;
}

/**
 * Rotates a key: a new key with the same name and rate limit replaces it, and it is disabled (SDKs
 * still sending with it are refused: `disabled_key`), in one statement. null: no such key.
 */
export async function rotateKey(db: Db, projectId: number, publicKey: string): Promise<{ old: ProjectKeyRow; key: ProjectKeyRow } | null> {
  const { rows } = await db.query<ProjectKeyRow & { old: boolean }>(
    `WITH o AS (SELECT * FROM project_key WHERE project_id = $1 AND public_key = $2 FOR UPDATE),
     n AS (INSERT INTO project_key (public_key, project_id, label, rate_limit_count, rate_limit_window)
           SELECT $3, project_id, label, rate_limit_count, rate_limit_window FROM o RETURNING ${COLUMNS}),
     u AS (UPDATE project_key k SET disabled = true, replaced_by = n.public_key FROM n
            WHERE k.project_id = $1 AND k.public_key = $2 RETURNING ${COLUMNS.split(', ').map((c) => `k.${c}`).join(', ')})
     SELECT ${COLUMNS}, false AS old FROM n UNION ALL SELECT ${COLUMNS}, true FROM u`,
    [projectId, publicKey, newPublicKey()]);
  const strip = (r: ProjectKeyRow & { old: boolean }): ProjectKeyRow => {
    const { old: _, ...k } = r;
    return k;
  };
  const old = rows.find((r) => r.old);
  const key = rows.find((r) => !r.old);
  return old && key ? { old: strip(old), key: strip(key) } : null;
}

export async function deleteKey(db: Db, projectId: number, publicKey: string): Promise<boolean> {
  const r = await db.query('DELETE FROM project_key WHERE project_id = $1 AND public_key = $2', [projectId, publicKey]);
  return (r.rowCount ?? 0) > 0;
}
