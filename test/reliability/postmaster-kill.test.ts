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

afterAll(async () => {
  await server?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
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
});
