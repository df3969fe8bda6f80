import { afterAll, beforeAll, expect, test } from 'vitest';
import pg from 'pg';
import { freshDatabase, UNDIGESTED_SQL, type TestDatabase } from '../helpers/db.js';
import { createProject } from '../../src/storage/projects.js';
import { enqueue, envelope, type Payload } from './archive.js';
import { spawnWorker, until, type WorkerProcess } from './worker-process.js';
import { at } from '../helpers/time.js';

// A worker process SIGKILLed while it holds a batch leaves nothing half-done: its transaction had
// written reports and issues but not committed, so they vanish with it, and the queue rows it had
// claimed come back. A second worker then digests everything exactly once.
// No timing: the first worker is stopped mid-batch by a table lock it has to wait for, and the
// test waits for conditions (the worker's backend waiting on that lock; the backend gone).

let db: TestDatabase;
const running: WorkerProcess[] = [];
const N = 300;

beforeAll(async () => {
  db = await freshDatabase();
});
afterAll(async () => {
  await Promise.all(running.map((w) => w.stop('SIGKILL')));
  await db?.drop();
});

test('a worker killed mid-batch leaves nothing behind, and the batch is digested again exactly once', async () => {
  const { project } = await createProject(db.pool, { name: 'crash' });
  const payloads: Payload[] = Array.from({ length: N }, (_, i) => ({
    kind: 'envelope',
    body: envelope({ event_id: i.toString(16).padStart(32, '0') }, [
      [{ type: 'event' }, { event_id: i.toString(16).padStart(32, '0'), platform: 'python', user: { id: `u${i % 7}` }, exception: { values: [{ type: `E${i % 3}`, value: `v${i}`, stacktrace: { frames: [{ module: "app", function: "run", filename: "app.py", lineno: 3, in_app: true }] } }] } }],
      [{ type: 'session' }, { sid: `${i.toString(16).padStart(8, '0')}-0000-4000-8000-000000000000`, init: true, started: at(), status: 'ok', attrs: { release: 'r@1' } }],
    ]),
  }));
  await enqueue(db.pool, project.id, payloads);

  // Hold a lock that the batch needs after it has inserted issues and reports (its issue_delta rows come later).
  const blocker = new pg.Client({ connectionString: db.url });
  await blocker.connect();
  await blocker.query('BEGIN');
  await blocker.query('LOCK TABLE issue_delta IN EXCLUSIVE MODE');
  const env = { DATABASE_URL: db.url, WORKER_BATCH_SIZE: '100' };
  const first = await spawnWorker(env);
  running.push(first);
  let backend = 0;
  await until(async () => {
    const { rows } = await db.pool.query(
      `SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE '%INSERT INTO issue_delta%'`);
    backend = rows[0]?.pid ?? 0;
    return backend !== 0;
  }, 60_000, 'the worker to block inside its batch');
  first.proc.kill('SIGKILL');
  await new Promise((r) => first.proc.once('exit', r));
  // Its uncommitted work is invisible; its claimed rows are still locked by the orphaned backend.
  expect((await db.pool.query('SELECT count(*)::int AS n FROM report')).rows[0].n).toBe(0);
  // Release the lock: the orphaned backend finishes its statement, finds its client gone and rolls back.
  await blocker.query('ROLLBACK');
  await blocker.end();
  // (With WORKER_THREADS ≥ 1 the worker had more than one batch in flight: wait for all its backends.)
  await until(async () => (await db.pool.query(
    `SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND (pid = $1 OR application_name LIKE 'crash-cache%')`, [backend])).rowCount === 0,
  60_000, 'the orphaned backends to end');
  const one = async (sql: string) => (await db.pool.query(sql)).rows[0];
  expect(await one(`SELECT (SELECT count(*)::int FROM queue) AS queued, (SELECT count(*)::int FROM report) AS reports,
                           (SELECT count(*)::int FROM issue) AS issues, (SELECT count(*)::int FROM session_state) AS sessions,
                           (SELECT coalesce(sum(value), 0)::int FROM counter WHERE name = 'digested') AS digested`))
    .toEqual({ queued: N, reports: 0, issues: 0, sessions: 0, digested: 0 });

  const second = await spawnWorker(env);
  running.push(second);
  await until(async () => (await one(UNDIGESTED_SQL)).n === 0, 120_000, 'an empty queue');
  expect(await one(`SELECT (SELECT count(*)::int FROM report) AS reports, (SELECT sum(event_count)::int FROM issue) AS events,
                           (SELECT count(*)::int FROM issue) AS issues, (SELECT sum(user_count)::int FROM issue) AS users,
                           (SELECT sum(total)::int FROM session_hourly) AS sessions,
                           (SELECT sum(value)::int FROM counter WHERE name = 'digested') AS digested`))
    .toEqual({ reports: N, events: N, issues: 3, users: 3 * 7, sessions: N, digested: N });
}, 240_000);
