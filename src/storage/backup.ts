import { execFile } from 'node:child_process';
import { existsSync, renameSync, rmSync, statSync } from 'node:fs';
import { promisify } from 'node:util';
import type pg from 'pg';
import { migrate } from './migrate.js';
import { pgTool } from './pg-tools.js';

// Backup and restore of the whole database with PostgreSQL's own tools: pg_dump's custom format
// (compressed, restorable table by table) from one snapshot, so a backup taken under load is
// consistent — every payload ingest acknowledged before the snapshot is in it, with its queue row.
// A restore goes into an empty database only, and then applies the migrations this release has
// (a backup made by an older release is upgraded the same way a running database is).

const run = promisify(execFile);

export class BackupError extends Error {}

/** The connection URL without its password, which goes in PGPASSWORD (not on a command line `ps` shows). */
function connection(url: string): { dbname: string; env: NodeJS.ProcessEnv } {
  const u = new URL(url);
  const password = decodeURIComponent(u.password);
  u.password = '';
  return { dbname: u.toString(), env: { ...process.env, ...(password ? { PGPASSWORD: password } : {}) } };
}

async function serverMajor(pool: pg.Pool): Promise<number> {
  const { rows } = await pool.query<{ v: string }>("SELECT current_setting('server_version_num') AS v");
  return Math.floor(Number(rows[0]!.v) / 10000);
}

export async function backup(pool: pg.Pool, url: string, out: string, binDir: string | undefined): Promise<{ bytes: number; tool: string }> {
  if (existsSync(out)) throw new BackupError(`${out} exists; choose another file (a backup never overwrites one)`);
  const tool = await pgTool('pg_dump', await serverMajor(pool), binDir);
  const { dbname, env } = connection(url);
  const partial = `${out}.partial`;
  try {
    await run(tool, ['--format=custom', '--no-owner', '--no-privileges', `--file=${partial}`, `--dbname=${dbname}`], { env, maxBuffer: 16 * 1024 * 1024 });
    renameSync(partial, out);
  } catch (e) {
    rmSync(partial, { force: true });
    throw new BackupError(`pg_dump failed: ${(e as { stderr?: string }).stderr?.trim() || (e as Error).message}`);
  }
  return { bytes: statSync(out).size, tool };
}

export async function restore(pool: pg.Pool, url: string, file: string, binDir: string | undefined): Promise<{ migrated: number[] }> {
  if (!existsSync(file)) throw new BackupError(`no backup file ${file}`);
  const { rows } = await pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM pg_tables WHERE schemaname = 'public'`);
  if (rows[0]!.n > 0) throw new BackupError(`the database is not empty (${rows[0]!.n} tables): restore into a new DATA_DIR or an empty database`);
  const tool = await pgTool('pg_restore', await serverMajor(pool), binDir);
  const { dbname, env } = connection(url);
  try {
    await run(tool, ['--no-owner', '--no-privileges', '--exit-on-error', '--single-transaction', `--dbname=${dbname}`, file], { env, maxBuffer: 16 * 1024 * 1024 });
  } catch (e) {
    throw new BackupError(`pg_restore failed (nothing was restored): ${(e as { stderr?: string }).stderr?.trim() || (e as Error).message}`);
  }
  const client = await pool.connect();
  try {
    return { migrated: await migrate(client) };
  } finally {
    client.release();
  }
}
