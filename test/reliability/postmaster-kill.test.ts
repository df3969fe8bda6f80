import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../helpers/server.js';
import { postmasterPidFile } from '../../src/storage/embedded.js';
import { readCredentials, SUPERUSER, urlFor } from '../../src/storage/embedded-auth.js';
import { createProject } from '../../src/storage/projects.js';
import { checkExactlyOnce, runLoad, waitForDrain } from './load.js';

// The embedded postmaster is killed with SIGKILL under load, as the OOM killer would: the server
// notices, starts it again (PostgreSQL replays its WAL), answers 503 + Retry-After meanwhile and
// resumes by itself; every acknowledged event is there exactly once and the counts are exact.

let dir: string | null = null;
let server: RunningServer | null = null;
let frozen: number | null = null;
const dirs: string[] = [];
const servers: RunningServer[] = [];

afterAll(async () => {
  if (frozen) {
    try {
      process.kill(frozen, 'SIGCONT');
    } catch {
      /* gone */
    }
  }
  await server?.stop();
  for (const s of servers) await s.stop();
  for (const d of [...(dir ? [dir] : []), ...dirs]) rmSync(d, { recursive: true, force: true });
});

interface Health {
  status: string;
  database?: string;
  database_restarts_24h?: number;
}

async function health(url: string): Promise<{ code: number; body: Health } | null> {
  try {
    const r = await fetch(`${url}/health`, { signal: AbortSignal.timeout(5000) });
    return { code: r.status, body: (await r.json()) as Health };
  } catch {
    return null;
  }
}

describe('embedded PostgreSQL supervision', () => {
  it('restarts a postmaster killed with SIGKILL under load; nothing acknowledged is lost', async () => {
    dir = mkdtempSync(join(tmpdir(), 'crash-cache-pgkill-'));
    server = await startServer({
      DATA_DIR: dir,
      DATABASE_URL: '',
      DB_CONNECT_TIMEOUT_MS: '1000',
      RATE_LIMIT_GLOBAL_PER_SEC: '0',
      RATE_LIMIT_PER_IP_PER_SEC: '0',
      RATE_LIMIT_PER_PROJECT_PER_SEC: '0',
    });
    const pgDir = join(dir, 'pg');
    const before = postmasterPidFile(pgDir)!;
    expect(before.alive).toBe(true);
    const url = urlFor(before.port, SUPERUSER, readCredentials(dir)!.superuser, 'crashcache');
    const pool = new pg.Pool({ connectionString: url, max: 2 });
    pool.on('error', () => {});
    const { project, key } = await createProject(pool, { name: 'pgkill' });
    await pool.end();
    expect((await health(server.url))!.body).toMatchObject({ status: 'ok', database: 'ok', database_restarts_24h: 0 });

    const load = runLoad(() => server!.url, project.id, key.public_key, 8);
    while (load.stats.acked.size < 50) await new Promise((r) => setTimeout(r, 50));
    process.kill(before.pid, 'SIGKILL');
    const ackedAtKill = load.stats.acked.size;

    // Back by itself: a new postmaster on the same port, /health ok, one restart counted.
    const t0 = Date.now();
    let seenRestarting = false;
    for (;;) {
      const h = await health(server.url);
      if (h?.body.database === 'restarting') seenRestarting = true;
      if (h?.code === 200 && h.body.database_restarts_24h === 1) break;
      if (Date.now() - t0 > 60_000) throw new Error(`not back within 60 s; server log:\n${server.logs.slice(-30).join('\n')}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const after = postmasterPidFile(pgDir)!;
    expect(after.alive).toBe(true);
    expect(after.pid).not.toBe(before.pid);
    expect(after.port).toBe(before.port);
    // /health said so while it lasted (the restart takes seconds: WAL replay, pg_ctl start -w).
    expect(seenRestarting).toBe(true);
    // Ingest resumes: more events are acknowledged after the restart.
    const ackedAtRestart = load.stats.acked.size;
    while (load.stats.acked.size < ackedAtRestart + 50) await new Promise((r) => setTimeout(r, 50));
    await load.stop();
    const restartLog = server.logs.filter((l) => /embedded PostgreSQL (is down|restart)/.test(l));
    console.log(restartLog.join('\n'));
    expect(restartLog.some((l) => l.includes('embedded PostgreSQL restarted'))).toBe(true);

    const pool2 = new pg.Pool({ connectionString: url, max: 2 });
    pool2.on('error', () => {});
    try {
      await waitForDrain(pool2);
      const { reports, missing } = await checkExactlyOnce(pool2, project.id, load.stats.acked);
      const statuses = Object.fromEntries(load.stats.statuses);
      console.log(`postmaster kill: back in ${Date.now() - t0} ms (restarting seen: ${seenRestarting}), statuses ${JSON.stringify(statuses)}, ${ackedAtKill} acknowledged before the kill, ${load.stats.acked.size} in all, ${reports} reports`);
      for (const s of load.stats.statuses.keys()) expect([200, 503]).toContain(s);
      expect(missing).toEqual([]);
      expect(reports).toBe(load.stats.acked.size);
      const { rows } = await pool2.query<{ n: number }>('SELECT coalesce(sum(event_count), 0)::int AS n FROM issue WHERE project_id = $1', [project.id]);
      expect(rows[0]!.n).toBe(reports);
    } finally {
      await pool2.end();
    }
    // The server stops the postmaster it restarted when it shuts down.
    expect(await server.stop()).toBe(0);
    expect(postmasterPidFile(pgDir)).toBeNull();
    server = null;
  }, 240_000);

  it('restarts a postmaster that stops accepting connections (SIGSTOP)', async () => {
    const d = mkdtempSync(join(tmpdir(), 'crash-cache-pgstop-'));
    dirs.push(d);
    const srv = await startServer({ DATA_DIR: d, DATABASE_URL: '', RATE_LIMIT_GLOBAL_PER_SEC: '0', RATE_LIMIT_PER_IP_PER_SEC: '0', RATE_LIMIT_PER_PROJECT_PER_SEC: '0' });
    servers.push(srv);
    const pgDir = join(d, 'pg');
    const before = postmasterPidFile(pgDir)!;
    // Frozen, the postmaster takes no new connection (the kernel queues them; nobody accepts), while
    // the backends already connected go on: only the supervisor's probe can tell.
    process.kill(before.pid, 'SIGSTOP');
    frozen = before.pid;
    const t0 = Date.now();
    for (;;) {
      const h = await health(srv.url);
      if (h?.code === 200 && h.body.database_restarts_24h === 1) break;
      if (Date.now() - t0 > 120_000) throw new Error(`not restarted within 120 s; server log:\n${srv.logs.slice(-30).join('\n')}`);
      await new Promise((r) => setTimeout(r, 250));
    }
    frozen = null;
    const after = postmasterPidFile(pgDir)!;
    expect(after.alive).toBe(true);
    expect(after.pid).not.toBe(before.pid);
    expect(srv.logs.some((l) => l.includes('does not accept connections'))).toBe(true);
    console.log(`postmaster frozen: restarted ${Date.now() - t0} ms after SIGSTOP`);
  }, 180_000);
});
