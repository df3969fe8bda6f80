import { afterAll, beforeAll, expect, test } from 'vitest';
import { freshDatabase, type TestDatabase } from '../helpers/db.js';
import { createProject } from '../../src/storage/projects.js';
import { enqueue } from './archive.js';
import { spawnWorker, until, type WorkerProcess } from './worker-process.js';
import { cli } from '../helpers/server.js';

// One payload that makes its batch fail in the database (here: a CHECK constraint this test adds)
// must not hold back the others: the worker retries the batch payload by payload, digests the good
// ones and moves the bad one to queue_error with the database's reason after WORKER_MAX_ATTEMPTS.
// Each attempt is a claim of its own: the failed one is recorded before the row is let go, so that
// another lane cannot take it at once and spend the next attempt without the backoff.

let db: TestDatabase;
let worker: WorkerProcess | null = null;

beforeAll(async () => {
  db = await freshDatabase();
});
afterAll(async () => {
  await worker?.stop();
  await db?.drop();
});

async function poison(d: TestDatabase): Promise<void> {
  const { project } = await createProject(d.pool, { name: 'poison' });
  await d.pool.query(`ALTER TABLE report ADD CONSTRAINT test_no_poison CHECK (message IS DISTINCT FROM 'poison')`);
  const ev = (n: number, message: string) => ({ kind: 'store' as const, body: Buffer.from(JSON.stringify({ event_id: n.toString(16).padStart(32, '0'), message })) });
  await enqueue(d.pool, project.id, [ev(1, 'fine 1'), ev(2, 'poison'), ev(3, 'fine 3'), ev(4, 'fine 4')]);
}

test('a payload that fails in the database is isolated and moved to queue_error', async () => {
  await poison(db);
  worker = await spawnWorker({ DATABASE_URL: db.url, WORKER_MAX_ATTEMPTS: '2', WORKER_BATCH_SIZE: '10' });
  const one = async (sql: string) => (await db.pool.query(sql)).rows[0];
  // attempt 1 fails, the retry waits 2 s (backoff), attempt 2 fails and gives up
  await until(async () => (await one(`SELECT (SELECT count(*) FROM queue_error) = 1 AND NOT EXISTS (SELECT FROM queue) AS done`)).done, 60_000, 'the payload in queue_error, the queue empty');
  expect((await db.pool.query('SELECT message FROM report ORDER BY message')).rows.map((r) => r.message)).toEqual(['fine 1', 'fine 3', 'fine 4']);
  const err = await one('SELECT error, attempts FROM queue_error');
  expect(err.error).toMatch(/test_no_poison/);
  expect(err.attempts).toBe(2);
  // Two lanes run side by side once the batch is retried payload by payload; when the rollback let
  // go of the row before the attempt was recorded, both claimed it with 0 attempts (logged 1, 1).
  const failures = worker!.logs.filter((l) => l.msg === 'payload failed to digest');
  expect(failures.map((l) => [l.attempt, l.max_attempts])).toEqual([[1, 2], [2, 2]]);
}, 120_000);

test('ruminate digests the rest of the archive around a payload that fails in the database', async () => {
  const d = await freshDatabase();
  try {
    await poison(d);
    // No worker runs: ruminate digests the archive itself. It used to give up on its first batch
    // (the same batch failed five times) and leave the whole archive undigested.
    const out = await cli(['ruminate', '--yes'], { DATABASE_URL: d.url, WORKER_BATCH_SIZE: '10' });
    expect(out).toMatch(/Ruminated 4 payload\(s\)/);
    expect(out).toMatch(/1 payload\(s\) failed to digest and wait for a retry/);
    expect((await d.pool.query('SELECT message FROM report ORDER BY message')).rows.map((r) => r.message)).toEqual(['fine 1', 'fine 3', 'fine 4']);
    const left = (await d.pool.query('SELECT attempts, last_error FROM queue')).rows;
    expect(left).toHaveLength(1);
    expect(left[0].attempts).toBe(1);
    expect(left[0].last_error).toMatch(/test_no_poison/);
    // An operator sees it before the digest gives up on it.
    const listed = await cli(['queue', 'errors'], { DATABASE_URL: d.url });
    expect(listed).toMatch(/^No failed payloads\.\nWaiting for another attempt/);
    expect(listed).toMatch(/^queue \d+\tproject \d+\tarchive \d+\tnext \S+\t1 failed\t.*test_no_poison/m);
  } finally {
    await d.drop();
  }
}, 120_000);
