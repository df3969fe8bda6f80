import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type pg from 'pg';
import { MIGRATIONS_DIR } from '../paths.js';
import { VERSION } from '../version.js';

// Numbered plain-SQL files in migrations/ (0001_init.sql, 0002_…), applied in order, each in its own
// transaction, under an advisory lock so that several processes starting at once apply each once.

const LOCK_ID = 7_310_224_001; // arbitrary, fixed: "crash-cache migrations"

export function migrationFiles(dir = MIGRATIONS_DIR): { version: number; name: string; sql: string }[] {
  return readdirSync(dir)
    .filter((f) => /^\d{4}_.*\.sql$/.test(f))
    .sort()
    .map((f) => ({ version: Number(f.slice(0, 4)), name: f, sql: readFileSync(join(dir, f), 'utf8') }));
}

export class SchemaTooNewError extends Error {
  constructor(readonly unknown: number[], readonly newestKnown: number) {
    super(`the database was upgraded by a newer crash-cache: it has migration${unknown.length > 1 ? 's' : ''} ${unknown.map((v) => String(v).padStart(4, '0')).join(', ')}, ` +
      `which this release (${VERSION}, migrations up to ${String(newestKnown).padStart(4, '0')}) does not know. Run that newer release, or restore a backup made before the upgrade.`);
  }
}

export async function migrate(client: pg.ClientBase, dir = MIGRATIONS_DIR): Promise<number[]> {
  const applied: number[] = [];
  await client.query('SELECT pg_advisory_lock($1)', [LOCK_ID]);
  try {
    await client.query(`CREATE TABLE IF NOT EXISTS schema_migration (
      version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`);
    const done = new Set((await client.query<{ version: number }>('SELECT version FROM schema_migration')).rows.map((r) => r.version));
    const files = migrationFiles(dir);
    // Migrations only go forward: a database carrying a migration this release does not have was
    // upgraded by a newer release, whose schema this code may misread or damage.
    const known = new Set(files.map((m) => m.version));
    const unknown = [...done].filter((v) => !known.has(v)).sort((a, b) => a - b);
    if (unknown.length) throw new SchemaTooNewError(unknown, Math.max(0, ...known));
    for (const m of files) {
      if (done.has(m.version)) continue;
      await client.query('BEGIN');
      try {
        await client.query(m.sql);
        await client.query('INSERT INTO schema_migration (version, name) VALUES ($1, $2)', [m.version, m.name]);
        await client.query('COMMIT');
      } catch (e) {
        await client.query('ROLLBACK');
        throw new Error(`migration ${m.name} failed: ${(e as Error).message}`);
      }
      applied.push(m.version);
    }
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [LOCK_ID]);
  }
  return applied;
}
