import { afterAll, beforeAll, expect, test } from 'vitest';
import { freshDatabase, type TestDatabase } from '../helpers/db.js';
import { createProject } from '../../src/storage/projects.js';
import { enqueue } from './archive.js';
import { spawnWorker, until, type WorkerProcess } from './worker-process.js';
import { startServer, type RunningServer } from '../helpers/server.js';
import { NO_RATE_LIMITS } from '../helpers/app.js';
import { listenQueue, NOTIFY_SENDER, QUEUE_CHANNEL } from '../../src/queue/listen.js';

// An idle worker sleeps up to WORKER_INTERVAL_SECS (here one hour) but wakes when another process
// commits work and sends NOTIFY crash_cache_queue, as ingest does; a default process's digest is
// woken by its own ingest directly. Its issue counts follow its reports (paced folds, fold.ts).

/** A store event sent to `url`'s ingest with the project's key; answered 200. */
async function store(url: string, projectId: number, publicKey: string, n: number, message: string): Promise<void> {
  const r = await fetch(`${url}/api/${projectId}/store/`, {
    method: 'POST',
    headers: { 'x-sentry-auth': `Sentry sentry_key=${publicKey}, sentry_version=7`, 'content-type': 'application/json' },
    body: JSON.stringify({ event_id: n.toString(16).padStart(32, '0'), message }),
  });
  expect(r.status).toBe(200);
}

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
    await store(ingest.url, project.id, key.public_key, 100 + round, `sent to ingest ${round}`);
    // well within the worker's hour of sleep: only ingest's NOTIFY can have woken it
    await until(async () => (await reports()) === round, 60_000, `report ${round}`);
  }
  expect(await reports()).toBe(3);
}, 180_000);

test("a listener ignores its own process's NOTIFYs (that process's ingest wakes its digest directly)", async () => {
  let n = 0;
  const l = listenQueue(db.url, () => n++, () => {});
  try {
    // Its first call comes once it listens: work may have arrived before.
    await until(async () => n === 1, 30_000, 'the listener to listen');
    // This process's (three, which PostgreSQL folds into one), then another's, in one transaction:
    // delivered together, in order.
    await db.pool.query('SELECT pg_notify($1, $2), pg_notify($1, $2), pg_notify($1, $2), pg_notify($1, $3)', [QUEUE_CHANNEL, NOTIFY_SENDER, 'another process']);
    await until(async () => n >= 2, 30_000, "the other process's NOTIFY");
    expect(n).toBe(2);
  } finally {
    await l.close();
  }
});

test('a default process keeps its issue counts up with its reports, and a clean stop folds what it owed', async () => {
  await ingest?.stop();
  ingest = null;
  await worker?.stop();
  worker = null;
  const { project, key } = await createProject(db.pool, { name: 'fold-pacing' });
  const server = await startServer({ DATABASE_URL: db.url, WORKER_INTERVAL_SECS: '3600', ...NO_RATE_LIMITS });
  const send = (n: number) => store(server.url, project.id, key.public_key, 200 + n, 'paced fold');
  const counts = async () => (await db.pool.query(`SELECT (SELECT count(*) FROM report WHERE project_id = $1)::int AS reports, (SELECT coalesce(sum(event_count), 0) FROM issue WHERE project_id = $1)::int AS counted`, [project.id])).rows[0] as { reports: number; counted: number };
  try {
    // The batch that made the issue folded before it committed: its count comes with its report.
    await send(1);
    await until(async () => (await counts()).reports === 1, 60_000, 'the first report');
    expect(await counts()).toEqual({ reports: 1, counted: 1 });
    // Later events of the issue are counted within FOLD_IDLE_MS of their reports.
    for (let n = 2; n <= 5; n++) await send(n);
    await until(async () => (await counts()).counted === 5, 60_000, 'the counts of events 2-5');
    // One more, and at once a clean stop: the count is right when the process is gone.
    await send(6);
    await until(async () => (await counts()).reports === 6, 60_000, 'the sixth report');
  } finally {
    expect(await server.stop()).toBe(0);
  }
  expect(await counts()).toEqual({ reports: 6, counted: 6 });
}, 180_000);
