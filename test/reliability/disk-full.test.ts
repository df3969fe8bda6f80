import { execFile } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statfsSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../helpers/server.js';
import { postmasterPidFile } from '../../src/storage/embedded.js';
import { readCredentials, SUPERUSER, urlFor } from '../../src/storage/embedded-auth.js';
import { createProject } from '../../src/storage/projects.js';
import { checkExactlyOnce, waitForDrain } from './load.js';

// DATA_DIR on a small tmpfs, flooded with incompressible events down to the free-space floor:
// ingest refuses with 503 + Retry-After and the outcome reason disk_full (never a 200 for a payload
// it did not store), /health says so, the digest goes on, PostgreSQL never runs out of space; when
// space is freed ingest accepts again by itself. Mounting needs root: skipped otherwise.

const run = promisify(execFile);
const root = process.getuid?.() === 0;
const MiB = 1024 * 1024;
const FLOOR = 160 * MiB;
/** Room left above the floor before the flood. */
const HEADROOM = 60 * MiB;

let mnt: string | null = null;
let server: RunningServer | null = null;

afterAll(async () => {
  await server?.stop();
  if (mnt) {
    await run('umount', ['-l', mnt]).catch(() => {});
    rmSync(mnt, { recursive: true, force: true });
  }
});

function bigEvent(): { id: string; body: string } {
  const id = randomUUID().replace(/-/g, '');
  // ~32 KB that no compressor shrinks much: every stored byte costs about one byte of disk.
  const event = { event_id: id, platform: 'node', level: 'error', message: `disk flood ${id}`, extra: { blob: randomBytes(24 * 1024).toString('base64') } };
  return { id, body: JSON.stringify(event) };
}

describe('a full disk', () => {
  it.skipIf(!root)('ingest refuses at the free-space floor with disk_full, never acknowledges an unstored payload, and accepts again when space returns (needs root to mount a tmpfs)', async () => {
    mnt = mkdtempSync(join(tmpdir(), 'crash-cache-diskfull-'));
    await run('mount', ['-t', 'tmpfs', '-o', 'size=512M,mode=0755', 'tmpfs', mnt]);
    server = await startServer({
      DATA_DIR: mnt,
      DATABASE_URL: '',
      DISK_MIN_FREE_BYTES: String(FLOOR),
      RATE_LIMIT_GLOBAL_PER_SEC: '0',
      RATE_LIMIT_PER_IP_PER_SEC: '0',
      RATE_LIMIT_PER_PROJECT_PER_SEC: '0',
    });
    const port = postmasterPidFile(join(mnt, 'pg'))!.port;
    const pool = new pg.Pool({ connectionString: urlFor(port, SUPERUSER, readCredentials(mnt)!.superuser, 'crashcache'), max: 2 });
    pool.on('error', () => {});
    try {
      const { project, key } = await createProject(pool, { name: 'diskfull' });
      // A ballast file takes all but HEADROOM above the floor; deleting it is "space comes back".
      const s = statfsSync(mnt);
      const ballast = join(mnt, 'ballast');
      writeFileSync(ballast, Buffer.alloc(Math.max(0, s.bavail * s.bsize - FLOOR - HEADROOM)));

      const headers = { 'x-sentry-auth': `Sentry sentry_key=${key.public_key}, sentry_version=7`, 'content-type': 'application/json' };
      const acked = new Set<string>();
      const statuses = new Map<number, number>();
      let diskRefusals = 0;
      const send = async (): Promise<number> => {
        const ev = bigEvent();
        const r = await fetch(`${server!.url}/api/${project.id}/store/`, { method: 'POST', headers, body: ev.body });
        const detail = ((await r.json()) as { detail?: string }).detail ?? '';
        statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
        if (r.status === 200) acked.add(ev.id);
        if (r.status === 503) {
          expect(Number(r.headers.get('retry-after'))).toBeGreaterThan(0);
          if (detail.includes('DISK_MIN_FREE_BYTES')) diskRefusals++;
        }
        return r.status;
      };

      // Flood with 6 concurrent senders until 50 refusals for the floor.
      const t0 = Date.now();
      await Promise.all(
        Array.from({ length: 6 }, async () => {
          while (diskRefusals < 50) {
            if (Date.now() - t0 > 180_000) throw new Error(`no disk refusals after 180 s: ${JSON.stringify(Object.fromEntries(statuses))}`);
            await send();
          }
        }),
      );
      expect(acked.size).toBeGreaterThan(100);
      const low = (await (await fetch(`${server.url}/health`)).json()) as { status: string; disk: { low: boolean; free_bytes: number } };
      expect(low.status).toBe('ok'); // the database itself is fine, only ingest stopped taking payloads
      expect(low.disk.low).toBe(true);
      // Each refusal is one outcome, under its reason (written within about a second).
      for (let i = 0; ; i++) {
        const { rows } = await pool.query<{ n: number }>("SELECT coalesce(sum(quantity), 0)::int AS n FROM outcome WHERE outcome = 'rate_limited' AND reason = 'disk_full' AND project_id = $1", [project.id]);
        if (rows[0]!.n === diskRefusals) break;
        if (i > 100) expect(rows[0]!.n).toBe(diskRefusals);
        await new Promise((r) => setTimeout(r, 100));
      }
      // The digest goes on while ingest refuses.
      await waitForDrain(pool, 180_000);

      // Space comes back: ingest accepts again by itself.
      unlinkSync(ballast);
      const ackedBefore = acked.size;
      for (let i = 0; (await send()) !== 200; i++) {
        if (i > 200) throw new Error('still refusing 20 s after space was freed');
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(acked.size).toBe(ackedBefore + 1);
      const high = (await (await fetch(`${server.url}/health`)).json()) as { disk: { low: boolean } };
      expect(high.disk.low).toBe(false);

      await waitForDrain(pool, 180_000);
      const { reports, missing } = await checkExactlyOnce(pool, project.id, new Map([...acked].map((id) => [id, 0])));
      console.log(`disk full: statuses ${JSON.stringify(Object.fromEntries(statuses))}, ${diskRefusals} refused for the floor, ${acked.size} acknowledged, ${reports} reports, ${low.disk.free_bytes} bytes free at the floor`);
      for (const st of statuses.keys()) expect([200, 503]).toContain(st);
      expect(missing).toEqual([]);
      expect(reports).toBe(acked.size);
      // PostgreSQL never hit the wall: no "No space left on device", no PANIC, no restart.
      const pgLog = readFileSync(join(mnt, 'postgres.log'), 'utf8');
      expect(pgLog).not.toMatch(/No space left on device|PANIC/);
      expect(server.logs.some((l) => l.includes('embedded PostgreSQL restarted'))).toBe(false);
    } finally {
      await pool.end();
    }
  }, 400_000);
});
