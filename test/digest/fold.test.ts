import { afterAll, beforeAll, expect, test, vi } from 'vitest';
import { freshDatabase, type TestDatabase } from '../helpers/db.js';
import { createProject } from '../../src/storage/projects.js';
import { DimCache } from '../../src/digest/dims.js';
import { digestOneBatch, enqueue, foldOnce } from './archive.js';
import { at } from '../helpers/time.js';
import { digestBatch } from '../../src/digest/batch.js';

vi.setConfig({ testTimeout: 60_000, hookTimeout: 120_000 });

// Issue counters folded from issue_delta (src/digest/fold.ts): a full batch (a backlog) leaves its
// counts as deltas, a fold applies them exactly once, a batch that drains the queue folds before it
// commits, and what a fold finds of a deleted issue is dropped.

let db: TestDatabase;
let projectId: number;
const cache = new DimCache();
const one = async (sql: string, p: unknown[] = []) => (await db.pool.query(sql, p)).rows[0];

const id = (n: number) => n.toString(16).padStart(32, '0');
const event = (n: number, opts: { type?: string; user?: string; ts?: string; region?: string } = {}) => ({
  kind: 'store' as const,
  body: Buffer.from(JSON.stringify({
    event_id: id(n), timestamp: opts.ts ?? at(), platform: 'python', environment: 'prod',
    tags: { region: opts.region ?? (n % 2 ? 'eu' : 'us') }, user: opts.user ? { id: opts.user } : undefined,
    exception: { values: [{ type: opts.type ?? 'KeyError', value: `'k${n}'`, stacktrace: { frames: [{ filename: 'app/views.py', function: 'get', lineno: 10, in_app: true }] } }] },
  })),
});

const batch = (size: number) => digestOneBatch(db.pool, cache, size);
const fold = () => foldOnce(db.pool);
/** What the counters must be: computed from the reports. */
const truth = () => one(`SELECT count(*)::int AS events, count(DISTINCT user_id)::int AS users, min(timestamp) AS first, max(timestamp) AS last FROM report WHERE issue_id = $1`, [issueId]);
let issueId: number;

beforeAll(async () => {
  db = await freshDatabase();
  projectId = (await createProject(db.pool, { name: 'fold' })).project.id;
}, 60_000);
afterAll(async () => {
  await db?.drop();
});

test('a full batch leaves deltas; a fold applies them once; a batch that drains the queue folds before it commits', async () => {
  await enqueue(db.pool, projectId, Array.from({ length: 10 }, (_, i) => event(i + 1, { user: `u${i % 3}`, ts: at(i) })));
  // 4 of 10: the queue is not drained, so the counts wait in issue_delta.
  expect((await batch(4)).claimed).toBe(4);
  issueId = (await one('SELECT id FROM issue')).id;
  expect(await one('SELECT event_count::int, user_count FROM issue')).toEqual({ event_count: 0, user_count: 0 });
  expect(await one('SELECT count(*)::int AS n, sum(events)::int AS events FROM issue_delta')).toEqual({ n: 1, events: 4 });
  expect((await one('SELECT count(*)::int AS n FROM issue_tag')).n).toBe(0);

  expect(await fold()).toBe(1);
  expect((await one('SELECT count(*)::int AS n FROM issue_delta')).n).toBe(0);
  expect(await one('SELECT event_count::int, user_count, first_seen, last_seen FROM issue')).toEqual({ event_count: 4, user_count: 3, first_seen: new Date(at()), last_seen: new Date(at(3)) });
  // A second fold finds nothing to add.
  expect(await fold()).toBe(0);
  expect((await one('SELECT event_count::int FROM issue')).event_count).toBe(4);

  // Another full batch, then one that finds fewer rows than it asked for: it folds both.
  expect((await batch(4)).claimed).toBe(4);
  expect((await one('SELECT count(*)::int AS n FROM issue_delta')).n).toBe(1);
  expect((await batch(4)).claimed).toBe(2);
  expect((await one('SELECT count(*)::int AS n FROM issue_delta')).n).toBe(0);
  const t = await truth();
  expect(t.events).toBe(10);
  expect(await one('SELECT event_count::int AS events, user_count AS users, first_seen AS first, last_seen AS last FROM issue')).toEqual(t);
  expect((await db.pool.query(`SELECT v.value, t.count::int FROM issue_tag t JOIN tag_value v ON v.id = t.tag_value_id WHERE v.key = 'region' ORDER BY 1`)).rows)
    .toEqual([{ value: 'eu', count: 5 }, { value: 'us', count: 5 }]);
  expect(await one(`SELECT last_event_id::text FROM issue`)).toEqual({ last_event_id: '00000000-0000-0000-0000-00000000000a' });
});

test('a regression is found by the fold: the resolved issue reopens when its new events are folded', async () => {
  await db.pool.query(`UPDATE issue SET status = 'resolved', substatus = NULL, resolved_at = now() - interval '1 minute' WHERE id = $1`, [issueId]);
  await enqueue(db.pool, projectId, [event(11), event(12)]);
  expect((await batch(1)).claimed).toBe(1);
  expect(await one('SELECT status FROM issue WHERE id = $1', [issueId])).toEqual({ status: 'resolved' });
  await fold();
  expect(await one('SELECT status, substatus, event_count::int FROM issue WHERE id = $1', [issueId])).toEqual({ status: 'unresolved', substatus: 'regressed', event_count: 11 });
  expect((await batch(5)).claimed).toBe(1);
  expect((await one('SELECT event_count::int FROM issue WHERE id = $1', [issueId])).event_count).toBe(12);
});

test('deltas of an issue deleted before the fold are dropped, leaving no tag counts behind', async () => {
  await enqueue(db.pool, projectId, [event(20, { type: 'ValueError' }), event(21, { type: 'ValueError' }), event(22)]);
  expect((await batch(2)).claimed).toBe(2);
  const gone = (await one(`SELECT id FROM issue WHERE title LIKE 'ValueError%'`)).id;
  expect((await one('SELECT count(*)::int AS n FROM issue_delta WHERE issue_id = $1', [gone])).n).toBe(1);
  await db.pool.query('DELETE FROM report WHERE issue_id = $1', [gone]);
  await db.pool.query('DELETE FROM issue WHERE id = $1', [gone]);
  await fold();
  expect((await one('SELECT count(*)::int AS n FROM issue_delta')).n).toBe(0);
  expect((await one('SELECT count(*)::int AS n FROM issue_tag WHERE issue_id = $1', [gone])).n).toBe(0);
  expect((await batch(5)).claimed).toBe(1);
  expect((await one('SELECT event_count::int FROM issue WHERE id = $1', [issueId])).event_count).toBe(13);
});

test('an event received in the millisecond its issue was resolved, after it, reopens the issue', async () => {
  // Receive times reach the digest in milliseconds, resolved_at has microseconds.
  const resolved = new Date(Date.now() - 60_000);
  const ms = resolved.toISOString().slice(0, 23);
  await db.pool.query(`UPDATE issue SET status = 'resolved', substatus = NULL, resolved_at = $2::timestamptz WHERE id = $1`, [issueId, `${ms}400Z`]);
  const [archiveId] = await enqueue(db.pool, projectId, [event(13)]);
  await db.pool.query('UPDATE archive SET received_at = $2::timestamptz WHERE project_id = $1 AND id = $3', [projectId, `${ms}700Z`, archiveId]);
  await batch(5);
  expect(await one('SELECT status, substatus FROM issue WHERE id = $1', [issueId])).toEqual({ status: 'unresolved', substatus: 'regressed' });
});

test('a drained batch asks whether to fold, with the issues it made; told not to, it leaves its deltas and says so', async () => {
  await enqueue(db.pool, projectId, [event(30), event(31, { type: 'LookupError' })]);
  const asked: number[] = [];
  const client = await db.pool.connect();
  try {
    const r = await digestBatch(client, { batchSize: 5, maxBytes: 1 << 20, cache, foldDrained: (n) => (asked.push(n), false) });
    expect(r).toMatchObject({ claimed: 2, events: 2, folded: false, deltas: true });
    expect(asked).toEqual([1]);
    expect((await one('SELECT count(*)::int AS n FROM issue_delta')).n).toBe(2);
    // An empty batch is asked too (with no issue made); agreeing, it folds what the other left.
    const e = await digestBatch(client, { batchSize: 5, maxBytes: 1 << 20, cache, foldDrained: (n) => (asked.push(n), true) });
    expect(e).toMatchObject({ claimed: 0, folded: true, deltas: false });
  } finally {
    client.release();
  }
  expect(asked).toEqual([1, 0]);
  expect((await one('SELECT count(*)::int AS n FROM issue_delta')).n).toBe(0);
  expect((await one(`SELECT event_count::int FROM issue WHERE title LIKE 'LookupError%'`)).event_count).toBe(1);
  expect(await one('SELECT event_count::int AS events FROM issue WHERE id = $1', [issueId])).toEqual({ events: (await truth()).events });
});
