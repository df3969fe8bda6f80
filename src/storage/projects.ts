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
  /** set while the project is being deleted (migrations/0032): then no lookup here finds it */
  deleted_at?: Date | null;
  created_at: Date;
}

export interface ProjectKeyRow {
  public_key: string;
  project_id: number;
  label: string;
  disabled: boolean;
  /** the key's own rate limit (migrations/0032): error events per window seconds; null = none */
  rate_limit_count?: number | null;
  rate_limit_window?: number | null;
  /** a rotated key: the key that replaced it */
  replaced_by?: string | null;
  created_at?: Date;
}

/** Longest project name and platform (the API's and the UI's forms). */
export const MAX_NAME_CHARS = 200;
export const MAX_PLATFORM_CHARS = 64;

/** What is wrong with a project's name or platform as given (undefined = left as it is), or null. */
export function projectFieldsProblem(f: { name?: string; platform?: string }): string | null {
  if (f.name !== undefined) {
    if (!f.name.trim()) return 'name must not be empty';
    if (f.name.length > MAX_NAME_CHARS) return `name is longer than ${MAX_NAME_CHARS} characters`;
  }
  if (f.platform !== undefined && f.platform.length > MAX_PLATFORM_CHARS) return `platform is longer than ${MAX_PLATFORM_CHARS} characters`;
  return null;
}

/** Sentry-style slug: lowercase letters, digits and dashes. */
export function slugify(name: string): string {
  const s = name.toLowerCase().normalize('NFKD').replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 50);
  // all digits would read as a project id (getProject); /projects/new is the UI's form
  return !s ? 'project' : /^\d+$/.test(s) || s === 'new' ? `project-${s}` : s;
}

/** A slug asked for (API `slug`) is taken: Sentry answers 409. */
export class SlugTakenError extends Error {}

/**
 * A slug asked for: lowercase letters, digits and "-", not only digits (a number is an id). Sentry
 * also allows "_"; ours are the alphabet of `slugify`, which the UI's URLs accept.
 */
export function slugProblem(slug: string): string | null {
  if (!/^[a-z0-9-]{1,100}$/.test(slug) || /^\d+$/.test(slug)) return 'slug must be 1 to 100 lowercase letters, digits or "-", and not only digits';
  if (slug === 'new') return 'slug "new" is taken by the web UI (/projects/new)';
  return null;
}

/**
 * Creates a project with one key (the CLI, the API and the UI). Its slug is `opts.slug` exactly
 * (SlugTakenError when taken), or derived from the name: the first free of base, base-2, base-3, …
 */
export async function createProject(db: pg.Pool | pg.ClientBase, opts: { name?: string; key?: string; platform?: string; slug?: string }): Promise<{ project: ProjectRow; key: ProjectKeyRow }> {
  const name = opts.name?.trim() || 'default';
  const key = opts.key ?? randomBytes(16).toString('hex');
  if (!/^[0-9a-zA-Z_-]{1,64}$/.test(key)) throw new Error('a key is 1 to 64 letters, digits, "_" or "-"');
  if (opts.slug !== undefined && slugProblem(opts.slug)) throw new Error(slugProblem(opts.slug)!);
  const base = opts.slug ?? slugify(name);
  // The slug must be unique: try base, base-2, base-3, ... inside one statement (only base when asked for).
  // Two creations racing for the same slug: the loser's INSERT meets the unique index (23505) and tries again.
  const insert = () => db.query<ProjectRow & { public_key: string }>(
    `WITH p AS (
       INSERT INTO project (name, slug, platform)
       SELECT $1, s, $3 FROM (
         SELECT CASE WHEN n = 1 THEN $2 ELSE $2 || '-' || n END AS s, n
         FROM generate_series(1, $5::int) n) c
       WHERE NOT EXISTS (SELECT 1 FROM project WHERE slug = c.s)
       ORDER BY n LIMIT 1
       RETURNING *)
     , k AS (INSERT INTO project_key (public_key, project_id) SELECT $4, id FROM p RETURNING public_key)
     SELECT p.*, k.public_key FROM p, k`,
    [name, base, opts.platform || null, key, opts.slug === undefined ? 10000 : 1],
  );
  let rows: (ProjectRow & { public_key: string })[] = [];
  for (let attempt = 1; ; attempt++) {
    try {
      rows = (await insert()).rows;
      break;
    } catch (e) {
      const slugRace = (e as { code?: string; constraint?: string }).code === '23505' && (e as { constraint?: string }).constraint === 'project_slug_key';
      if (!slugRace || attempt >= 10) throw e;
    }
  }
  const row = rows[0];
  if (!row) throw new SlugTakenError(`A project with the slug ${JSON.stringify(base)} already exists`);
  const { public_key, ...project } = row;
  return { project, key: { public_key, project_id: project.id, label: 'Default', disabled: false } };
}

/** Projects (not those being deleted) with their enabled keys, oldest first. */
export async function listProjects(db: pg.Pool | pg.ClientBase): Promise<(ProjectRow & { keys: string[] })[]> {
  const { rows } = await db.query<ProjectRow & { keys: string[] }>(
    `SELECT p.*, coalesce(array_agg(k.public_key ORDER BY k.created_at) FILTER (WHERE k.public_key IS NOT NULL), '{}') AS keys
       FROM project p LEFT JOIN project_key k ON k.project_id = p.id AND NOT k.disabled
      WHERE p.deleted_at IS NULL GROUP BY p.id ORDER BY p.id`,
  );
  return rows;
}

export async function getProject(db: pg.Pool | pg.ClientBase, idOrSlug: string | number): Promise<ProjectRow | null> {
  const s = String(idOrSlug);
  // ids are bigint: a longer number names no project (PostgreSQL would refuse the cast)
  if (/^\d{16,}$/.test(s) && !Number.isSafeInteger(Number(s))) return null;
  const { rows } = /^\d+$/.test(s)
    ? await db.query<ProjectRow>('SELECT * FROM project WHERE id = $1 AND deleted_at IS NULL', [s])
    : await db.query<ProjectRow>('SELECT * FROM project WHERE slug = $1 AND deleted_at IS NULL', [s]);
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

export { deleteProject } from './project-delete.js';

/** Renames a project and/or changes its platform ('' = none); its slug stays, so links and DSNs keep working. */
export async function updateProject(db: pg.Pool | pg.ClientBase, id: number, f: { name?: string; platform?: string }): Promise<boolean> {
  const r = await db.query(
    `UPDATE project SET name = coalesce($2, name), platform = CASE WHEN $3::text IS NULL THEN platform ELSE nullif($3, '') END
      WHERE id = $1 AND deleted_at IS NULL`,
    [id, f.name?.trim() ?? null, f.platform?.trim() ?? null]);
  return (r.rowCount ?? 0) > 0;
}
