import { afterAll, beforeAll, expect, test } from 'vitest';
import { freshDatabase, type TestDatabase } from '../helpers/db.js';
import { createProject } from '../../src/storage/projects.js';
import { spawnWorker, until, type WorkerProcess } from '../digest/worker-process.js';

// ALERT_RETENTION_DAYS: the worker's alert sender deletes delivered and given-up alerts that
// finished more than that many days ago (when it starts, then hourly); pending ones stay, whatever
// their age. Here 5 days: a delivery finished 6 days ago goes (it would stay under the default 7).

let db: TestDatabase;
let worker: WorkerProcess | null = null;

beforeAll(async () => {
  db = await freshDatabase();
});
afterAll(async () => {
  await worker?.stop();
  await db?.drop();
});

test('a worker deletes finished alerts older than ALERT_RETENTION_DAYS and keeps the rest', async () => {
  const { project } = await createProject(db.pool, { name: 'alerts' });
  const rule = (await db.pool.query<{ id: number }>(`INSERT INTO alert_rule (project_id, webhook_url) VALUES ($1, 'http://127.0.0.1:9/hook') RETURNING id`, [project.id])).rows[0]!.id;
  const rows: [string, string, string | null][] = [
    ['delivered 10 days ago', 'delivered', '10 days'],
    ['failed 6 days ago', 'failed', '6 days'],
    ['delivered 4 days ago', 'delivered', '4 days'],
    ['pending for 30 days', 'pending', null],
  ];
  for (const [i, [label, status, age]] of rows.entries()) {
    await db.pool.query(
      `INSERT INTO alert_outbox (rule_id, project_id, issue_id, kind, status, created_at, run_after, finished_at, last_error)
       VALUES ($1, $2, $3, 'new', $4, now() - interval '30 days', now() + interval '1 day', now() - $5::interval, $6)`,
      [rule, project.id, i + 1, status, age, label],
    );
  }
  worker = await spawnWorker({ DATABASE_URL: db.url, ALERT_RETENTION_DAYS: '5' });
  await until(async () => worker!.logs.some((l) => l.msg === 'old alerts deleted'), 60_000, 'the prune at start');
  expect(worker.logs.find((l) => l.msg === 'old alerts deleted')).toMatchObject({ count: 2 });
  const left = (await db.pool.query<{ last_error: string }>('SELECT last_error FROM alert_outbox ORDER BY issue_id')).rows.map((r) => r.last_error);
  expect(left).toEqual(['delivered 4 days ago', 'pending for 30 days']);
}, 90_000);
