import { performance } from 'node:perf_hooks';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { loadConfig } from '../src/config/index.js';
import { startEmbedded, type EmbeddedHandle } from '../src/storage/embedded.js';
import { migrate } from '../src/storage/migrate.js';
import { createProject } from '../src/storage/projects.js';
import { setPostmaster } from './procs.js';

// The bench's PostgreSQL: DATABASE_URL's server when set, else an embedded one in a temporary
// DATA_DIR that the bench owns (started once, shared by every server process it runs, so two ingest
// processes write to one database as they would in production). Each phase gets a fresh database.

pg.types.setTypeParser(20, (v) => Number(v));

export interface BenchPg {
  adminUrl: string;
  embedded: boolean;
  create(name: string): Promise<BenchDb>;
  close(): Promise<void>;
}

export interface BenchDb {
  name: string;
  url: string;
  pool: pg.Pool;
  projectId: number;
  projectSlug: string;
  key: string;
  drop(): Promise<void>;
}

function withDb(url: string, db: string): string {
  const u = new URL(url);
  u.pathname = `/${db}`;
  return u.toString();
}

/**
 * The bench's PostgreSQL: DATABASE_URL's server, or an embedded one in a temporary directory.
 * `ownEmbedded`: always an embedded one, sized for that MEMORY_BUDGET as a default process sizes
 * its own (the small-box phase), and not the one the memory sampler watches.
 */
export async function openBenchPg(log: (m: string) => void, ownEmbedded?: { memoryBudget: number }): Promise<BenchPg> {
  let embedded: EmbeddedHandle | null = null;
  let dir: string | null = null;
  let adminUrl = ownEmbedded ? undefined : loadConfig().databaseUrl;
  if (!adminUrl) {
    dir = mkdtempSync(join(tmpdir(), 'crash-cache-bench-'));
    embedded = await startEmbedded(dir, 0, log, ownEmbedded?.memoryBudget);
    adminUrl = embedded.url;
  }
  const created: string[] = [];
  const admin = async <T>(f: (c: pg.Client) => Promise<T>): Promise<T> => {
    const c = new pg.Client({ connectionString: adminUrl });
    await c.connect();
    try {
      return await f(c);
    } finally {
      await c.end();
    }
  };
  const suffix = randomBytes(3).toString('hex');
  let template: string | null = null;
  if (!ownEmbedded) setPostmaster(await admin(findPostmaster));
  return {
    adminUrl,
    embedded: !!embedded,
    async create(name) {
      // every database is a copy of one migrated template (~50 ms instead of running the migrations)
      if (!template) {
        template = `ccbench_template_${suffix}`;
        await admin((c) => c.query(`CREATE DATABASE ${template}`));
        created.unshift(template);
        const t = new pg.Client({ connectionString: withDb(adminUrl!, template) });
        await t.connect();
        try {
          await migrate(t);
        } finally {
          await t.end();
        }
      }
      const db = `ccbench_${name}_${suffix}`;
      await admin((c) => c.query(`CREATE DATABASE ${db} TEMPLATE ${template}`));
      created.push(db);
      const url = withDb(adminUrl!, db);
      const pool = new pg.Pool({ connectionString: url, max: 4 });
      pool.on('error', (e) => log(`bench database connection lost: ${e.message}`));
      const key = randomBytes(16).toString('hex');
      const { project } = await createProject(pool, { name: `bench ${name}`, key, platform: 'other' });
      return {
        name: db,
        url,
        pool,
        projectId: project.id,
        projectSlug: project.slug,
        key,
        async drop() {
          await pool.end().catch(() => {});
          await admin((c) => c.query(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`)).catch(() => {});
        },
      };
    },
    async close() {
      for (const db of created) await admin((c) => c.query(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`)).catch(() => {});
      if (embedded) await embedded.stop();
      if (dir) rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The postmaster's pid from its data directory's postmaster.pid, when that is on this machine and readable. */
async function findPostmaster(c: pg.Client): Promise<number | null> {
  try {
    const { rows } = await c.query<{ dir: string }>("SELECT current_setting('data_directory') AS dir");
    const pid = Number(readFileSync(join(rows[0]!.dir, 'postmaster.pid'), 'utf8').split('\n')[0]);
    return Number.isInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

/** Rows in a table (exact; the bench's tables stay small enough for count(*)). */
export async function countRows(db: BenchDb, table: string): Promise<number> {
  const { rows } = await db.pool.query<{ n: number }>(`SELECT count(*)::int8 AS n FROM ${table}`);
  return rows[0]!.n;
}

export interface Health {
  ingested?: number;
  digested?: number;
  queued?: number;
  counters_pending?: number;
  failed?: number;
  raw: unknown;
}

/** GET /health; finds the counts wherever the answer nests them. */
export async function health(port: number): Promise<Health> {
  const res = await fetch(`http://127.0.0.1:${port}/health`);
  const raw = (await res.json()) as unknown;
  const out: Health = { raw };
  const walk = (v: unknown) => {
    if (!v || typeof v !== 'object') return;
    for (const [k, x] of Object.entries(v)) {
      if (typeof x === 'number' && (k === 'ingested' || k === 'digested' || k === 'queued' || k === 'counters_pending' || k === 'failed')) out[k] ??= x;
      else walk(x);
    }
  };
  walk(raw);
  return out;
}

/** Waits (polling /health) until the server's queue is empty; `phase` names the phase in the error after 600 s. */
export async function waitDrained(port: number, phase: string): Promise<void> {
  const t0 = performance.now();
  for (;;) {
    const h = await health(port);
    if (h.queued === 0) return;
    if (performance.now() - t0 > 600_000) throw new Error(`${phase}: queue not drained after 600 s (${h.queued} left)`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Bytes of every table of the database (heap + TOAST + indexes), by table. */
export async function tableBytes(db: BenchDb): Promise<Record<string, number>> {
  const { rows } = await db.pool.query<{ name: string; bytes: number }>(
    `SELECT c.relname AS name, pg_total_relation_size(c.oid)::int8 AS bytes
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') ORDER BY 2 DESC`,
  );
  return Object.fromEntries(rows.map((r) => [r.name, r.bytes]));
}
