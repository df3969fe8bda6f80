import { afterAll, beforeAll, expect, test } from 'vitest';
import { freshDatabase, UNDIGESTED_SQL, type TestDatabase } from '../helpers/db.js';
import { cli } from '../helpers/server.js';
import { createProject } from '../../src/storage/projects.js';
import { enqueue, envelope, type Payload } from './archive.js';
import { spawnWorker, until, type WorkerProcess } from './worker-process.js';
import { at } from '../helpers/time.js';

// ruminate while a worker process is running: the worker is paused by the digest lock during the
// reset and then helps digest the re-enqueued archive; the result equals the first digest.

let db: TestDatabase;
let worker: WorkerProcess | null = null;
const N = 600;

beforeAll(async () => {
  db = await freshDatabase();
});
afterAll(async () => {
  await worker?.stop();
  await db?.drop();
});

test('ruminate with a running worker rebuilds the same data', async () => {
  const { project } = await createProject(db.pool, { name: 'rum' });
  const payloads: Payload[] = Array.from({ length: N }, (_, i) => {
    const id = (i + 1).toString(16).padStart(32, '0');
    return {
      kind: 'envelope',
      body: envelope({ event_id: id }, [
        [{ type: 'event' }, { event_id: id, timestamp: 1795856400 + i, platform: 'javascript', release: `web@${i % 3}`, user: { id: `u${i % 11}` }, tags: { shard: `s${i % 4}` },
          exception: { values: [{ type: `E${i % 5}`, value: 'same message', stacktrace: { frames: [{ filename: '/app.js', function: `f${i % 5}`, in_app: true }] } }] } }],
        [{ type: 'session' }, { sid: `${(i + 1).toString(16).padStart(8, '0')}-0000-4000-8000-000000000000`, did: `u${i % 11}`, init: true, started: at(), status: i % 7 ? 'exited' : 'crashed', attrs: { release: `web@${i % 3}` } }],
      ]),
    };
  });
  worker = await spawnWorker({ DATABASE_URL: db.url, WORKER_BATCH_SIZE: '50' });
  await enqueue(db.pool, project.id, payloads);
  await db.pool.query('NOTIFY crash_cache_queue');
  const queued = async () => (await db.pool.query(UNDIGESTED_SQL)).rows[0].n as number;
  await until(async () => (await queued()) === 0, 120_000, 'the first digest');
  await db.pool.query(`UPDATE issue SET status = 'ignored', substatus = 'archived_forever' WHERE title LIKE 'E3%'`);
  // Which event of a batch is an issue's first depends on how concurrent workers split the queue,
  // so first_event_id is left out; everything else must come back identical.
  const snapshot = async () => ({
    issues: (await db.pool.query(`SELECT id, short_id, primary_hash, event_count, user_count, first_seen, last_seen, last_event_id, title, culprit, status, substatus FROM issue ORDER BY id`)).rows,
    reports: (await db.pool.query(`SELECT event_id, issue_id, timestamp FROM report ORDER BY event_id`)).rows,
    view: (await db.pool.query(`SELECT event_id, release, "user", exception_type FROM report_view ORDER BY event_id`)).rows,
    tags: (await db.pool.query(`SELECT t.key, t.value, it.issue_id, it.count FROM issue_tag it JOIN tag_value t ON t.project_id = it.project_id AND t.id = it.tag_value_id ORDER BY 1, 2, 3`)).rows,
    health: (await db.pool.query(`SELECT release, total, crashed, exited FROM release_health_view ORDER BY release`)).rows,
    users: (await db.pool.query(`SELECT release_id IS NOT NULL AS r, count(*), count(*) FILTER (WHERE crashed) AS crashed FROM session_user_hourly GROUP BY 1`)).rows,
  });
  const before = await snapshot();
  expect(before.issues.length).toBe(5);
  expect(before.reports.length).toBe(N);
  await cli(['ruminate', '--yes'], { DATABASE_URL: db.url, WORKER_BATCH_SIZE: '50' });
  await until(async () => (await queued()) === 0, 120_000, 'the rebuild');
  expect(await snapshot()).toEqual(before);
}, 240_000);
