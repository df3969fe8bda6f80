import { execFile } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { chownSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { freshDatabase, type TestDatabase } from '../helpers/db.js';
import { startServer, type RunningServer } from '../helpers/server.js';
import { createProject } from '../../src/storage/projects.js';
import { checkExactlyOnce, waitForDrain } from './load.js';

// An external PostgreSQL (DATABASE_URL) whose disk fills: its error is SQLSTATE 53100 (disk full),
// which ingest answers like the embedded database's floor: 503 + Retry-After, outcome disk_full, never
// a 200 for what was not stored; when space comes back, 200 again. The archive table is put in a
// tablespace on a 24 MiB tmpfs (its WAL stays on the big disk, so PostgreSQL itself keeps running, as a
// managed PostgreSQL with a full data volume answers errors). Mounting needs root: skipped otherwise.

const run = promisify(execFile);
const root = process.getuid?.() === 0;

let mnt: string | null = null;
let tablespace: string | null = null;
let db: TestDatabase | null = null;
let server: RunningServer | null = null;

async function admin<T>(f: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: inject('pgAdminUrl') });
  await c.connect();
  try {
    return await f(c);
  } finally {
    await c.end();
  }
}

afterAll(async () => {
  await server?.stop();
  await db?.drop();
  if (tablespace) await admin((c) => c.query(`DROP TABLESPACE IF EXISTS ${tablespace}`)).catch(() => {});
  if (mnt) {
    await run('umount', ['-l', mnt]).catch(() => {});
    rmSync(mnt, { recursive: true, force: true });
  }
});

describe('an external PostgreSQL out of disk space', () => {
  it.skipIf(!root)('SQLSTATE 53100 is a 503 + Retry-After with outcome disk_full, and ingest recovers when space returns (needs root to mount a tmpfs)', async () => {
    mnt = mkdtempSync(join(tmpdir(), 'crash-cache-tblspc-'));
    await run('mount', ['-t', 'tmpfs', '-o', 'size=24M,mode=0700', 'tmpfs', mnt]);
    const pgUid = Number((await run('id', ['-u', 'postgres'])).stdout.trim());
    const pgGid = Number((await run('id', ['-g', 'postgres'])).stdout.trim());
    chownSync(mnt, pgUid, pgGid);
    tablespace = `cc_small_${randomBytes(4).toString('hex')}`;
    await admin((c) => c.query(`CREATE TABLESPACE ${tablespace} LOCATION '${mnt}'`));
    db = await freshDatabase();
    await db.pool.query(`ALTER TABLE archive SET TABLESPACE ${tablespace}`);
    const { project, key } = await createProject(db.pool, { name: 'external-disk-full' });
    server = await startServer({ DATABASE_URL: db.url, RATE_LIMIT_GLOBAL_PER_SEC: '0', RATE_LIMIT_PER_IP_PER_SEC: '0', RATE_LIMIT_PER_PROJECT_PER_SEC: '0' });

    const headers = { 'x-sentry-auth': `Sentry sentry_key=${key.public_key}, sentry_version=7`, 'content-type': 'application/json' };
    const acked = new Map<string, number>();
    const statuses = new Map<number, number>();
    let diskRefusals = 0;
    const send = async (): Promise<number> => {
      const id = randomUUID().replace(/-/g, '');
      const body = JSON.stringify({ event_id: id, platform: 'node', message: `full ${id}`, extra: { blob: randomBytes(24 * 1024).toString('base64') } });
      const r = await fetch(`${server!.url}/api/${project.id}/store/`, { method: 'POST', headers, body });
      const detail = ((await r.json()) as { detail?: string }).detail ?? '';
      statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
      if (r.status === 200) acked.set(id, 0);
      if (r.status === 503 && detail.includes('SQLSTATE 53100')) {
        expect(Number(r.headers.get('retry-after'))).toBeGreaterThan(0);
        diskRefusals++;
      }
      return r.status;
    };
    // 24 MiB hold ~700 such events: send until 20 are refused for the full disk.
    for (let i = 0; diskRefusals < 20; i++) {
      if (i > 5000) throw new Error(`no disk-full refusals: ${JSON.stringify(Object.fromEntries(statuses))}`);
      await send();
    }
    for (let i = 0; ; i++) {
      const { rows } = await db.pool.query<{ n: number }>("SELECT coalesce(sum(quantity), 0)::int AS n FROM outcome WHERE outcome = 'rate_limited' AND reason = 'disk_full' AND project_id = $1", [project.id]);
      if (rows[0]!.n === diskRefusals || i > 100) {
        expect(rows[0]!.n).toBe(diskRefusals);
        break;
      }
      await new Promise((r) => setTimeout(r, 100));
    }

    // Space comes back (the volume is grown): accepted again, without a restart.
    await run('mount', ['-o', 'remount,size=64M', mnt]);
    let back = 0;
    for (let i = 0; back < 5; i++) {
      if (i > 200) throw new Error('still refusing after space was added');
      if ((await send()) === 200) back++;
    }
    await waitForDrain(db.pool, 180_000);
    const { reports, missing } = await checkExactlyOnce(db.pool, project.id, acked);
    console.log(`external disk full: statuses ${JSON.stringify(Object.fromEntries(statuses))}, ${diskRefusals} refused with SQLSTATE 53100, ${acked.size} acknowledged, ${reports} reports`);
    for (const st of statuses.keys()) expect([200, 503]).toContain(st);
    expect(missing).toEqual([]);
    expect(reports).toBe(acked.size);
  }, 300_000);
});
