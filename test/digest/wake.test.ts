import { afterAll, beforeAll, expect, test } from 'vitest';
import { freshDatabase, type TestDatabase } from '../helpers/db.js';
import { createProject } from '../../src/storage/projects.js';
import { enqueue } from './archive.js';
import { spawnWorker, until, type WorkerProcess } from './worker-process.js';

// An idle worker sleeps up to WORKER_INTERVAL_SECS (here one hour) but wakes when another process
// commits work and sends NOTIFY crash_cache_queue, as ingest does.

let db: TestDatabase;
let worker: WorkerProcess | null = null;

beforeAll(async () => {
  db = await freshDatabase();
});
afterAll(async () => {
  await worker?.stop();
  await db?.drop();
});

test('an idle worker wakes on NOTIFY crash_cache_queue', async () => {
  const { project } = await createProject(db.pool, { name: 'wake' });
  worker = await spawnWorker({ DATABASE_URL: db.url, WORKER_INTERVAL_SECS: '3600' });
  const reports = async () => (await db.pool.query('SELECT count(*)::int AS n FROM report')).rows[0].n as number;
  const ev = (n: number) => ({ kind: 'store' as const, body: Buffer.from(JSON.stringify({ event_id: n.toString(16).padStart(32, '0'), message: `m${n}` })) });
  for (let round = 1; round <= 3; round++) {
    // After round 1 the worker has certainly finished its work and gone back to sleep.
    const t0 = Date.now();
    await enqueue(db.pool, project.id, [ev(round)]);
    await db.pool.query('NOTIFY crash_cache_queue');
    await until(async () => (await reports()) === round, 60_000, `report ${round}`);
    console.log(`round ${round}: digested ${Date.now() - t0} ms after the NOTIFY`);
  }
  expect(await reports()).toBe(3);
}, 120_000);
