import { afterAll, beforeAll, vi, expect, test } from 'vitest';
import { freshDatabase, type TestDatabase } from '../helpers/db.js';
import { cli } from '../helpers/server.js';
import { createProject, deleteProject } from '../../src/storage/projects.js';
import { DimCache } from '../../src/digest/dims.js';
import { DERIVED_TABLES } from '../../src/digest/ruminate.js';
import { enqueue, envelope, digestAll as digestAllWith } from './archive.js';
import { at, BASE_MS } from '../helpers/time.js';

// Generous limits: CI machines are shared and slow at times; nothing here waits on a clock.
vi.setConfig({ testTimeout: 60_000, hookTimeout: 120_000 });

// Issue counters, retries, regressions, ruminate and project deletion, on real PostgreSQL.

let db: TestDatabase;
let projectId: number;
const cache = new DimCache();

const id = (n: number) => n.toString(16).padStart(32, '0');
function errorEvent(n: number, opts: { user?: string; ts?: number | string; type?: string; extra?: unknown } = {}) {
  return {
    event_id: id(n),
    timestamp: opts.ts ?? at(),
    platform: 'python',
    release: 'svc@1',
    environment: 'prod',
    tags: { region: n % 2 ? 'eu' : 'us' },
    user: opts.user ? { id: opts.user } : undefined,
    extra: opts.extra,
    exception: { values: [{ type: opts.type ?? 'KeyError', value: `'k${n}'`, stacktrace: { frames: [{ filename: 'app/views.py', module: 'app.views', function: 'get', lineno: 10, in_app: true }] } }] },
  };
}
const store = (ev: unknown) => ({ kind: 'store' as const, body: Buffer.from(JSON.stringify(ev)) });

const digestAll = () => digestAllWith(db.pool, cache);
const one = async (sql: string, p: unknown[] = []) => (await db.pool.query(sql, p)).rows[0];

beforeAll(async () => {
  db = await freshDatabase();
  projectId = (await createProject(db.pool, { name: 'issues' })).project.id;
}, 60_000);
afterAll(async () => {
  await db?.drop();
});

test('counts, users and first/last seen of an issue; a retried event is not a second report', async () => {
  await enqueue(db.pool, projectId, [
    store(errorEvent(1, { user: 'u1', ts: at(2) })),
    store(errorEvent(2, { user: 'u2', ts: at(1) })),
    // the same event again, different bytes (an SDK retry after a lost response)
    store(errorEvent(1, { user: 'u1', ts: at(2), extra: { retry: true } })),
  ]);
  await digestAll();
  await enqueue(db.pool, projectId, [
    store(errorEvent(3, { user: 'u1', ts: BASE_MS / 1000 + 3 })), // at(3) as unix seconds
    store(errorEvent(2, { user: 'u2', ts: at(1), extra: { again: 1 } })),
  ]);
  await digestAll();
  expect((await one('SELECT count(*)::int AS n FROM report')).n).toBe(3);
  const issue = await one('SELECT id, short_id::int, event_count::int, user_count, first_seen, last_seen, title, culprit, status FROM issue');
  expect(issue).toMatchObject({ short_id: 1, event_count: 3, user_count: 2, title: "KeyError: 'k1'", culprit: 'app.views in get', status: 'unresolved' });
  expect(issue.first_seen.toISOString()).toBe(at(1));
  expect(issue.last_seen.toISOString()).toBe(at(3));
  const tags = (await db.pool.query(
    `SELECT t.key, t.value, it.count::int FROM issue_tag it JOIN tag_value t ON t.project_id = it.project_id AND t.id = it.tag_value_id
      WHERE it.issue_id = $1 AND t.key IN ('region', 'user') ORDER BY 1, 2`, [issue.id])).rows;
  expect(tags).toEqual([
    { key: 'region', value: 'eu', count: 2 }, { key: 'region', value: 'us', count: 1 },
    { key: 'user', value: 'id:u1', count: 2 }, { key: 'user', value: 'id:u2', count: 1 },
  ]);
  // a different exception type is a second issue, with the next short id
  await enqueue(db.pool, projectId, [store(errorEvent(4, { type: 'ValueError' }))]);
  await digestAll();
  expect((await db.pool.query('SELECT title, short_id::int FROM issue ORDER BY short_id')).rows.map((r) => [r.short_id, r.title])).toEqual([[1, "KeyError: 'k1'"], [2, "ValueError: 'k4'"]]);
});

test('a timestamp far in the future is replaced by the receive time', async () => {
  await enqueue(db.pool, projectId, [store(errorEvent(5, { ts: '2099-01-01T00:00:00Z', type: 'FutureError' }))]);
  await digestAll();
  const r = await one(`SELECT r.timestamp, r.received_at FROM report r WHERE event_id = $1`, [id(5)]);
  expect(r.timestamp.getTime()).toBe(r.received_at.getTime());
});

test('a new event on a resolved issue reopens it as a regression; an ignored issue stays ignored', async () => {
  await db.pool.query(`UPDATE issue SET status = 'resolved', substatus = NULL, resolved_at = now() WHERE title LIKE 'KeyError%'`);
  await db.pool.query(`UPDATE issue SET status = 'ignored', substatus = 'archived_forever' WHERE title LIKE 'ValueError%'`);
  await enqueue(db.pool, projectId, [store(errorEvent(6, { user: 'u3' })), store(errorEvent(7, { type: 'ValueError' }))]);
  await digestAll();
  expect(await one(`SELECT status, substatus, resolved_at, event_count::int FROM issue WHERE title LIKE 'KeyError%'`)).toEqual({ status: 'unresolved', substatus: 'regressed', resolved_at: null, event_count: 4 });
  expect(await one(`SELECT status, substatus, event_count::int FROM issue WHERE title LIKE 'ValueError%'`)).toEqual({ status: 'ignored', substatus: 'archived_forever', event_count: 2 });
});

test('ruminate rebuilds the same reports, issues and statistics, keeping issue ids and statuses', async () => {
  // sessions and a failing payload, so that every kind of derived row exists
  await enqueue(db.pool, projectId, [
    { kind: 'envelope', body: envelope({}, [[{ type: 'session' }, { sid: '11111111-0000-4000-8000-000000000000', did: 'u1', init: true, started: at(), status: 'crashed', errors: 1, attrs: { release: 'svc@1' } }]]) },
    { kind: 'envelope', body: Buffer.from('{"event_id":"not json\n') },
  ]);
  await digestAll();
  await db.pool.query(`UPDATE issue SET status = 'resolved', resolved_at = now() + interval '1 hour' WHERE title LIKE 'FutureError%'`);
  const snapshot = async () => ({
    issues: (await db.pool.query(`SELECT id, short_id, primary_hash, event_count, user_count, first_seen, last_seen, title, culprit, status, substatus, resolved_at, first_event_id, last_event_id, metadata FROM issue ORDER BY id`)).rows,
    reports: (await db.pool.query(`SELECT event_id, issue_id, timestamp, message, exception_value FROM report ORDER BY event_id`)).rows,
    view: (await db.pool.query(`SELECT event_id, platform, level, release, environment, "user", exception_type FROM report_view ORDER BY event_id`)).rows,
    tags: (await db.pool.query(`SELECT t.key, t.value, it.issue_id, it.count FROM issue_tag it JOIN tag_value t ON t.project_id = it.project_id AND t.id = it.tag_value_id ORDER BY 1, 2, 3`)).rows,
    users: (await db.pool.query(`SELECT issue_id, count(*) FROM issue_user GROUP BY 1 ORDER BY 1`)).rows,
    sessions: (await db.pool.query(`SELECT * FROM release_health_view ORDER BY hour`)).rows,
    errors: (await db.pool.query(`SELECT archive_id, error FROM queue_error ORDER BY archive_id`)).rows,
  });
  const before = await snapshot();
  expect(before.errors.length).toBe(1);
  expect(before.sessions.length).toBe(1);
  const out = await cli(['ruminate', '--yes'], { DATABASE_URL: db.url });
  expect(out).toMatch(/re-enqueued/);
  expect(await snapshot()).toEqual(before);
}, 120_000);

test('queue errors lists failed payloads with their reason; queue retry puts them back', async () => {
  const out = await cli(['queue', 'errors'], { DATABASE_URL: db.url });
  expect(out).toMatch(/envelope: envelope header is not valid JSON/);
  const retried = await cli(['queue', 'retry', '--all'], { DATABASE_URL: db.url });
  expect(retried).toMatch(/^1 payload\(s\) re-enqueued/);
  expect((await one('SELECT count(*)::int AS n FROM queue')).n).toBe(1);
  expect((await one('SELECT count(*)::int AS n FROM queue_error')).n).toBe(0);
}, 120_000);

test('deleting a project removes its rows from every digest table', async () => {
  const other = (await createProject(db.pool, { name: 'doomed' })).project.id;
  await enqueue(db.pool, other, [
    store(errorEvent(100, { user: 'x' })),
    { kind: 'envelope', body: envelope({ event_id: id(101) }, [[{ type: 'event' }, errorEvent(101)], [{ type: 'attachment', filename: 'a.txt' }, 'hello'], [{ type: 'client_report' }, { discarded_events: [{ reason: 'queue_overflow', category: 'error', quantity: 3 }] }], [{ type: 'check_in' }, { monitor_slug: 'm', status: 'ok' }], [{ type: 'user_report' }, { event_id: id(101), comments: 'hm' }], [{ type: 'transaction' }, { type: 'transaction' }], [{ type: 'session' }, { sid: '21111111-0000-4000-8000-000000000000', init: true, started: at(), status: 'ok', attrs: { release: 'r' } }], [{ type: 'event' }, '{broken']]) },
  ]);
  await digestAll();
  const tables = [...DERIVED_TABLES.filter((t) => t !== 'dim'), 'issue_keep'];
  const counts = async () => Object.fromEntries(await Promise.all(tables.map(async (t) => [t, (await one(`SELECT count(*)::int AS n FROM ${t} WHERE project_id = $1`, [other])).n])));
  const before = await counts();
  for (const t of ['report', 'issue', 'attachment', 'client_report_hourly', 'check_in', 'user_report', 'item_count_hourly', 'session_hourly', 'item_invalid', 'tag_value', 'project_dim']) expect(before[t], t).toBeGreaterThan(0);
  await deleteProject(db.pool, other);
  expect(Object.values(await counts()).every((n) => n === 0)).toBe(true);
}, 60_000);
