import { afterAll, beforeAll, expect, test } from 'vitest';
import { freshDatabase, UNDIGESTED_SQL, type TestDatabase } from '../helpers/db.js';
import { createProject } from '../../src/storage/projects.js';
import { enqueue, envelope, type Payload } from './archive.js';
import { spawnWorker, until, type WorkerProcess } from './worker-process.js';

// Two worker processes share one database: 10,000 queued payloads (500 of them SDK retries of an
// event already sent) end as exactly one report per distinct event, with exact issue counters.

let db: TestDatabase;
const workers: WorkerProcess[] = [];
const TOTAL = 10_000;
const RETRIES = 500;
const ISSUES = 20;
const USERS = 37;

beforeAll(async () => {
  db = await freshDatabase();
});
afterAll(async () => {
  await Promise.all(workers.map((w) => w.stop()));
  await db?.drop();
});

test('two workers digest 10,000 payloads with no loss and no double count', async () => {
  const { project } = await createProject(db.pool, { name: 'load' });
  const distinct = TOTAL - RETRIES;
  const eventOf = (i: number) => (i < distinct ? i : (i * 7919) % distinct); // retries repeat earlier events
  const pairs = new Set<string>();
  const payloads: Payload[] = [];
  for (let i = 0; i < TOTAL; i++) {
    const e = eventOf(i);
    const issue = e % ISSUES;
    const user = e % USERS;
    if (i < distinct) pairs.add(`${issue}/${user}`);
    const ev = {
      event_id: e.toString(16).padStart(32, '0'),
      timestamp: 1795856400 + e / 100,
      platform: 'node',
      release: 'load@1',
      user: { id: `user-${user}` },
      exception: { values: [{ type: `Error${issue}`, value: `failure ${e}`, stacktrace: { frames: [{ filename: 'app.js', function: `handler${issue}`, lineno: 1, in_app: true }] } }] },
    };
    payloads.push({ kind: 'envelope', body: envelope({ event_id: ev.event_id, sent_at: new Date(1795856400000 + i).toISOString() }, [[{ type: 'event' }, ev]]) });
  }
  // Both workers are up and idle before the work arrives; the enqueue NOTIFY wakes them.
  const env = { DATABASE_URL: db.url, WORKER_BATCH_SIZE: '100', WORKER_INTERVAL_SECS: '60' };
  workers.push(...(await Promise.all([spawnWorker(env), spawnWorker(env)])));
  const tq = Date.now();
  for (let i = 0; i < TOTAL; i += 1000) {
    await enqueue(db.pool, project.id, payloads.slice(i, i + 1000));
    await db.pool.query("NOTIFY crash_cache_queue");
  }
  console.log(`enqueued in ${Date.now() - tq} ms`);
  const t0 = Date.now();
  await until(async () => (await db.pool.query(UNDIGESTED_SQL)).rows[0].n === 0, 120_000, 'an empty queue');
  console.log(`queue drained ${Date.now() - t0} ms after the last enqueue`);

  const one = async (sql: string) => (await db.pool.query(sql)).rows[0];
  expect((await one('SELECT count(*)::int AS n FROM report')).n).toBe(distinct);
  expect((await one('SELECT count(*)::int AS n, sum(event_count)::int AS events, sum(user_count)::int AS users FROM issue'))).toEqual({ n: ISSUES, events: distinct, users: pairs.size });
  expect((await one('SELECT count(*)::int AS n FROM issue_user')).n).toBe(pairs.size);
  expect((await one("SELECT sum(value)::int AS n FROM counter WHERE name = 'digested'")).n).toBe(TOTAL);
  expect((await one('SELECT count(*)::int AS n FROM queue_error')).n).toBe(0);
  // short ids 1..20 without gaps or duplicates, whichever worker created the issue
  expect((await db.pool.query('SELECT short_id::int FROM issue ORDER BY short_id')).rows.map((r) => r.short_id)).toEqual(Array.from({ length: ISSUES }, (_, i) => i + 1));
  const perWorker = workers.map((w) => w.logs.filter((l) => l.msg === 'digested').reduce((s, l) => s + Number(l.payloads), 0));
  expect(perWorker.reduce((a, b) => a + b, 0)).toBe(TOTAL);
  console.log(`payloads digested per worker: ${perWorker.join(', ')}`);
}, 180_000);
