import { afterAll, beforeAll, expect, test } from 'vitest';
import { freshDatabase, type TestDatabase } from '../helpers/db.js';
import { createProject } from '../../src/storage/projects.js';
import { enqueue } from './archive.js';
import { spawnWorker, until, type WorkerProcess } from './worker-process.js';
import { startServer, type RunningServer } from '../helpers/server.js';
import { NO_RATE_LIMITS } from '../helpers/app.js';

// An idle worker sleeps up to WORKER_INTERVAL_SECS (here one hour) but wakes when another process
// commits work and sends NOTIFY crash_cache_queue, as ingest does.

let db: TestDatabase;
let worker: WorkerProcess | null = null;
let ingest: RunningServer | null = null;

beforeAll(async () => {
  db = await freshDatabase();
});
afterAll(async () => {
  await ingest?.stop();
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

test("an ingest process wakes a worker process: the NOTIFY comes from ingest's commit", async () => {
  await worker?.stop();
  const { project, key } = await createProject(db.pool, { name: 'wake-by-ingest' });
  ingest = await startServer({ DATABASE_URL: db.url, ...NO_RATE_LIMITS }, ['--no-worker']);
  worker = await spawnWorker({ DATABASE_URL: db.url, WORKER_INTERVAL_SECS: '3600' });
  const reports = async () => (await db.pool.query('SELECT count(*)::int AS n FROM report WHERE project_id = $1', [project.id])).rows[0].n as number;
  for (let round = 1; round <= 3; round++) {
    const r = await fetch(`${ingest.url}/api/${project.id}/store/`, {
      method: 'POST',
      headers: { 'x-sentry-auth': `Sentry sentry_key=${key.public_key}, sentry_version=7`, 'content-type': 'application/json' },
      body: JSON.stringify({ event_id: (100 + round).toString(16).padStart(32, '0'), message: `sent to ingest ${round}` }),
    });
    expect(r.status).toBe(200);
    // well within the worker's hour of sleep: only ingest's NOTIFY can have woken it
    await until(async () => (await reports()) === round, 60_000, `report ${round}`);
  }
  expect(await reports()).toBe(3);
}, 180_000);
