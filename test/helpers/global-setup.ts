import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import type { TestProject } from 'vitest/node';
import { startEmbedded, type EmbeddedHandle } from '../../src/storage/embedded.js';
import { migrate } from '../../src/storage/migrate.js';

// One PostgreSQL server per test run: DATABASE_URL's when given (CI runs the suite against the
// machine's PostgreSQL that way), otherwise an embedded one in a temporary directory. A template
// database is migrated once; each test file clones it (test/helpers/db.ts), so files never share
// mutable state and cloning costs ~50 ms instead of running the migrations again.

declare module 'vitest' {
  export interface ProvidedContext {
    pgAdminUrl: string;
    templateDb: string;
  }
}

let embedded: EmbeddedHandle | null = null;
let dir: string | null = null;

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  let adminUrl = process.env.DATABASE_URL;
  if (!adminUrl) {
    dir = mkdtempSync(join(tmpdir(), 'crash-cache-test-'));
    embedded = await startEmbedded(dir, 0, (m) => process.stderr.write(m + '\n'));
    adminUrl = embedded.url;
  }
  const templateDb = `cc_template_${process.pid}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${templateDb}`);
  await admin.query(`CREATE DATABASE ${templateDb}`);
  await admin.end();
  const u = new URL(adminUrl);
  u.pathname = `/${templateDb}`;
  const c = new pg.Client({ connectionString: u.toString() });
  await c.connect();
  await migrate(c);
  await c.end();
  project.provide('pgAdminUrl', adminUrl);
  project.provide('templateDb', templateDb);

  return async () => {
    const a = new pg.Client({ connectionString: adminUrl });
    await a.connect();
    const { rows } = await a.query<{ datname: string }>(`SELECT datname FROM pg_database WHERE datname LIKE 'cc\\_%\\_${process.pid}%' OR datname = $1`, [templateDb]);
    for (const r of rows) await a.query(`DROP DATABASE IF EXISTS ${r.datname} WITH (FORCE)`).catch(() => {});
    await a.end();
    if (embedded) await embedded.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  };
}
