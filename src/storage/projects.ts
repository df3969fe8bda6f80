import { randomBytes } from 'node:crypto';
import type pg from 'pg';
import type { ScrubSettings } from '../scrub/settings.js';

export interface ProjectRow {
  id: number;
  name: string;
  slug: string;
  platform: string | null;
  disabled: boolean;
  rate_limit_per_sec: number | null;
  /** the project's own grouping rules (migrations/0013); '' = none */
  grouping_enhancements: string;
  fingerprinting_rules: string;
  /** data scrubbing settings (migrations/0020) */
  data_scrubber: boolean;
  data_scrubber_defaults: boolean;
  sensitive_fields: string[];
  safe_fields: string[];
  scrub_ip_addresses: boolean;
  /** own retention (migrations/0017); null = RETENTION_DAYS / unlimited */
  retention_days?: number | null;
  max_events_per_issue?: number | null;
  created_at: Date;
}

export interface ProjectKeyRow {
  public_key: string;
  project_id: number;
  label: string;
  disabled: boolean;
}

/** Sentry-style slug: lowercase letters, digits and dashes. */
export function slugify(name: string): string {
  const s = name.toLowerCase().normalize('NFKD').replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 50);
  return s || 'project';
}

export async function createProject(db: pg.Pool | pg.ClientBase, opts: { name?: string; key?: string; platform?: string }): Promise<{ project: ProjectRow; key: ProjectKeyRow }> {
  const name = opts.name?.trim() || 'default';
  const key = opts.key ?? randomBytes(16).toString('hex');
  if (!/^[0-9a-zA-Z_-]{1,64}$/.test(key)) throw new Error('a key is 1 to 64 letters, digits, "_" or "-"');
  const base = slugify(name);
  // The slug must be unique: try base, base-2, base-3, ... inside one statement.
  const { rows } = await db.query<ProjectRow & { public_key: string }>(
    `WITH p AS (
       INSERT INTO project (name, slug, platform)
       SELECT $1, s, $3 FROM (
         SELECT CASE WHEN n = 1 THEN $2 ELSE $2 || '-' || n END AS s, n
         FROM generate_series(1, 10000) n) c
       WHERE NOT EXISTS (SELECT 1 FROM project WHERE slug = c.s)
       ORDER BY n LIMIT 1
       RETURNING *)
     , k AS (INSERT INTO project_key (public_key, project_id) SELECT $4, id FROM p RETURNING public_key)
     SELECT p.*, k.public_key FROM p, k`,
    [name, base, opts.platform ?? null, key],
  );
  const row = rows[0]!;
  const { public_key, ...project } = row;
  return { project, key: { public_key, project_id: project.id, label: 'Default', disabled: false } };
}

export async function listProjects(db: pg.Pool | pg.ClientBase): Promise<(ProjectRow & { keys: string[] })[]> {
  const { rows } = await db.query<ProjectRow & { keys: string[] }>(
    `SELECT p.*, coalesce(array_agg(k.public_key ORDER BY k.created_at) FILTER (WHERE k.public_key IS NOT NULL), '{}') AS keys
       FROM project p LEFT JOIN project_key k ON k.project_id = p.id GROUP BY p.id ORDER BY p.id`,
  );
  return rows;
}

export async function getProject(db: pg.Pool | pg.ClientBase, idOrSlug: string | number): Promise<ProjectRow | null> {
  const s = String(idOrSlug);
  // ids are bigint: a longer number names no project (PostgreSQL would refuse the cast)
  if (/^\d{16,}$/.test(s) && !Number.isSafeInteger(Number(s))) return null;
  const { rows } = /^\d+$/.test(s)
    ? await db.query<ProjectRow>('SELECT * FROM project WHERE id = $1', [s])
    : await db.query<ProjectRow>('SELECT * FROM project WHERE slug = $1', [s]);
  return rows[0] ?? null;
}

/** Sets a project's own grouping rules (checked by the caller: src/grouping/validate.ts); undefined leaves one as it is. */
export async function setProjectGrouping(db: pg.Pool | pg.ClientBase, id: number, rules: { enhancements?: string; fingerprintingRules?: string }): Promise<void> {
  await db.query('UPDATE project SET grouping_enhancements = coalesce($2, grouping_enhancements), fingerprinting_rules = coalesce($3, fingerprinting_rules) WHERE id = $1',
    [id, rules.enhancements ?? null, rules.fingerprintingRules ?? null]);
}

/** Sets a project's data scrubbing settings (checked by the caller: src/scrub/validate.ts); a setting left out stays as it is. */
export async function setProjectScrubbing(db: pg.Pool | pg.ClientBase, id: number, s: Partial<ScrubSettings>): Promise<void> {
  await db.query(
    `UPDATE project SET data_scrubber = coalesce($2, data_scrubber), data_scrubber_defaults = coalesce($3, data_scrubber_defaults),
            sensitive_fields = coalesce($4, sensitive_fields), safe_fields = coalesce($5, safe_fields), scrub_ip_addresses = coalesce($6, scrub_ip_addresses)
      WHERE id = $1`,
    [id, s.dataScrubber ?? null, s.dataScrubberDefaults ?? null, s.sensitiveFields ?? null, s.safeFields ?? null, s.scrubIPAddresses ?? null]);
}

export async function deleteProject(db: pg.Pool | pg.ClientBase, id: number): Promise<boolean> {
  const r = await db.query('DELETE FROM project WHERE id = $1', [id]);
  return (r.rowCount ?? 0) > 0;
}
