import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { inject } from 'vitest';

export interface TestDatabase {
  url: string;
  pool: pg.Pool;
  drop(): Promise<void>;
}

function withDb(url: string, db: string): string {
  const u = new URL(url);
  u.pathname = `/${db}`;
  return u.toString();
}

/** A fresh, migrated database of its own for one test file (cloned from the run's template). */
export async function freshDatabase(): Promise<TestDatabase> {
  const adminUrl = inject('pgAdminUrl');
  const template = inject('templateDb');
  const name = `cc_t_${template.split('_').pop()}_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    // A template must have no other sessions while it is copied; retry briefly if one lingers.
    for (let i = 0; ; i++) {
      try {
        await admin.query(`CREATE DATABASE ${name} TEMPLATE ${template}`);
        break;
      } catch (e) {
        if (i > 20) throw e;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  } finally {
    await admin.end();
  }
  const url = withDb(adminUrl, name);
  const pool = new pg.Pool({ connectionString: url, max: 5 });
  // drop() terminates this database's sessions; a connection that dies that way must not surface as
  // an uncaught error in the test process.
  pool.on('error', () => {});
  pool.on('connect', (c) => c.on('error', () => {}));
  return {
    url,
    pool,
    async drop() {
      await pool.end();
      const a = new pg.Client({ connectionString: adminUrl });
      await a.connect();
      await a.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch(() => {});
      await a.end();
    },
  };
}

/** Work the digest has left: queued payloads plus issue counters not yet folded (src/digest/fold.ts). 0 = drained. */
export const UNDIGESTED_SQL = 'SELECT ((SELECT count(*) FROM queue) + (SELECT count(*) FROM issue_delta))::int AS n';
