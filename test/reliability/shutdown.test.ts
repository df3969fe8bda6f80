import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startServer } from '../helpers/server.js';
import { createProject } from '../../src/storage/projects.js';
import { checkExactlyOnce, runLoad, waitForDrain } from './load.js';
import { startEmbedded } from '../../src/storage/embedded.js';
import pg from 'pg';

// SIGTERM under load: the server stops accepting, lets in-flight requests commit, hands back or
// finishes the worker's batch, stops its embedded PostgreSQL cleanly and exits 0. Everything that got
// a 200 is digested after the next start.

let dir: string | null = null;
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('graceful shutdown', () => {
  it('SIGTERM under load exits 0, stops PostgreSQL, loses nothing acknowledged', async () => {
    dir = mkdtempSync(join(tmpdir(), 'crash-cache-shutdown-'));
    const env = { DATA_DIR: dir, DATABASE_URL: '', RATE_LIMIT_GLOBAL_PER_SEC: '0', RATE_LIMIT_PER_IP_PER_SEC: '0', RATE_LIMIT_PER_PROJECT_PER_SEC: '0' };
    let server = await startServer(env);
    // The project is created through the running server's PostgreSQL (the CLI would attach the same way).
    const emb = await startEmbedded(dir, 0, () => {});
    expect(emb.owned).toBe(false);
    const adminPool = new pg.Pool({ connectionString: emb.url.replace(/\/postgres$/, '/crashcache'), max: 1 });
    // pool.end() resolves before its connection has closed, and the server's shutdown stops this
    // PostgreSQL: a pool without a listener would rethrow that (57P01) as an uncaught error.
    adminPool.on('error', () => {});
    const { project, key } = await createProject(adminPool, { name: 'shutdown' });
    await adminPool.end();

    let target: string | null = server.url;
    const load = runLoad(() => target, project.id, key.public_key, 8);
    await new Promise((r) => setTimeout(r, 1000));
    const first = server;
    const code = await server.stop('SIGTERM');
    target = null;
    await load.stop();
    expect(code, first.logs.slice(-20).join('\n')).toBe(0);
    expect(existsSync(join(dir, 'pg', 'postmaster.pid'))).toBe(false);
    expect(load.stats.acked.size).toBeGreaterThan(0);

    server = await startServer(env);
    const emb2 = await startEmbedded(dir, 0, () => {});
    const pool = new pg.Pool({ connectionString: emb2.url.replace(/\/postgres$/, '/crashcache'), max: 1 });
    pool.on('error', () => {});
    try {
      await waitForDrain(pool);
      const { reports, missing, counted } = await checkExactlyOnce(pool, project.id, load.stats.acked);
      expect(missing).toEqual([]);
      expect(reports).toBe(load.stats.acked.size);
      expect(counted).toBe(reports);
    } finally {
      await pool.end();
      const code2 = await server.stop('SIGTERM');
      expect(code2, server.logs.slice(-20).join('\n')).toBe(0);
    }
  }, 120_000);
});
