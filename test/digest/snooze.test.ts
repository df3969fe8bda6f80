import { afterAll, beforeAll, vi, expect, test } from 'vitest';
import { freshDatabase, type TestDatabase } from '../helpers/db.js';
import { createProject } from '../../src/storage/projects.js';
import { DimCache } from '../../src/digest/dims.js';
import { nextSnoozeMs, wakeSnoozedIssues } from '../../src/digest/snooze.js';
import { setIssueStatus, type Snooze } from '../../src/api/queries/issues.js';
import { enqueue, digestAll as digestAllWith } from './archive.js';
import { cli } from '../helpers/server.js';

vi.setConfig({ testTimeout: 60_000, hookTimeout: 120_000 });

// Ignored issues come back when their snooze ends (Sentry's "ignore for 1 hour", "until it happens
// 3 more times", "until 2 more users"): as unresolved/escalating, by the digest's own issue update
// when events meet the condition, by the worker's check when the time has come.

let db: TestDatabase;
let projectId: number;
const cache = new DimCache();
let n = 0;

function event(type: string, user?: string, ts = new Date().toISOString()) {
  n++;
  return {
    kind: 'store' as const,
    body: Buffer.from(JSON.stringify({
      event_id: n.toString(16).padStart(32, '0'), timestamp: ts, platform: 'python', user: user ? { id: user } : undefined,
      exception: { values: [{ type, value: 'x', stacktrace: { frames: [{ module: 'app', function: 'f', in_app: true }] } }] },
    })),
  };
}
const digestAll = () => digestAllWith(db.pool, cache);
async function send(...events: ReturnType<typeof event>[]): Promise<void> {
  await enqueue(db.pool, projectId, events);
  await digestAll();
}
async function issue(type: string): Promise<{ id: number; status: string; substatus: string; snooze_until: Date | null }> {
  return (await db.pool.query(`SELECT id::int, status, substatus, snooze_until FROM issue WHERE title LIKE $1`, [`${type}:%`])).rows[0];
}
const snooze = (z: Partial<Snooze>): Snooze => ({ until: null, count: null, windowMinutes: null, users: null, details: {}, ...z });

beforeAll(async () => {
  db = await freshDatabase();
  projectId = (await createProject(db.pool, { name: 'snooze' })).project.id;
  await send(event('CountError'), event('UserError', 'u1'), event('TimeError'), event('WindowError'), event('ForeverError'));
}, 60_000);
afterAll(async () => {
  await db?.drop();
});

test('ignored until 3 more events: back as escalating with the third', async () => {
  const { id } = await issue('CountError');
  await setIssueStatus(db.pool, [id], 'ignored', null, snooze({ count: 3 }));
  await send(event('CountError'), event('CountError'));
  expect(await issue('CountError')).toMatchObject({ status: 'ignored', substatus: 'archived_until_condition_met' });
  await send(event('CountError'));
  expect(await issue('CountError')).toMatchObject({ status: 'unresolved', substatus: 'escalating' });
});

test('ignored until 2 more users: other events of the same user do not count', async () => {
  const { id } = await issue('UserError');
  await setIssueStatus(db.pool, [id], 'ignored', null, snooze({ users: 2 }));
  await send(event('UserError', 'u1'), event('UserError', 'u2'), event('UserError', 'u2'));
  expect((await issue('UserError')).status).toBe('ignored');
  await send(event('UserError', 'u3'));
  expect(await issue('UserError')).toMatchObject({ status: 'unresolved', substatus: 'escalating' });
});

test('ignored until 2 events within 10 minutes: older events do not count', async () => {
  const { id } = await issue('WindowError');
  await setIssueStatus(db.pool, [id], 'ignored', null, snooze({ count: 2, windowMinutes: 10 }));
  // its first event moved an hour back: outside the window, as is the next one
  await db.pool.query(`UPDATE report SET timestamp = now() - interval '1 hour' WHERE issue_id = $1`, [id]);
  await send(event('WindowError', undefined, new Date(Date.now() - 3600_000).toISOString()));
  expect((await issue('WindowError')).status).toBe('ignored');
  await send(event('WindowError'));
  expect((await issue('WindowError')).status).toBe('ignored');
  await send(event('WindowError'));
  expect(await issue('WindowError')).toMatchObject({ status: 'unresolved', substatus: 'escalating' });
});

test('ignored for a while: back when the time has come, with or without new events', async () => {
  const { id } = await issue('TimeError');
  await setIssueStatus(db.pool, [id], 'ignored', null, snooze({ until: new Date(Date.now() + 3600_000) }));
  expect(await nextSnoozeMs(db.pool)).toBeGreaterThan(3500_000);
  expect(await wakeSnoozedIssues(db.pool)).toBe(0);
  await send(event('TimeError'));
  expect((await issue('TimeError')).status).toBe('ignored');
  // an hour later (the clock cannot be moved: the snooze is moved back instead)
  await db.pool.query(`UPDATE issue SET snooze_until = now() - interval '1 second' WHERE id = $1`, [id]);
  // a webhook of the project hears of it, in the same transaction
  await db.pool.query(`INSERT INTO alert_rule (project_id, webhook_url, kinds) VALUES ($1, 'http://127.0.0.1:9/hook', '{escalating}')`, [projectId]);
  expect(await wakeSnoozedIssues(db.pool)).toBe(1);
  expect(await issue('TimeError')).toMatchObject({ status: 'unresolved', substatus: 'escalating', snooze_until: null });
  expect((await db.pool.query(`SELECT kind, issue_id::int FROM alert_outbox`)).rows).toEqual([{ kind: 'escalating', issue_id: id }]);
  await db.pool.query('DELETE FROM alert_rule');
  expect(await nextSnoozeMs(db.pool)).toBeNull();
  // and by an event, when the worker's check has not run yet
  await setIssueStatus(db.pool, [id], 'ignored', null, snooze({ until: new Date(Date.now() - 1000) }));
  await send(event('TimeError'));
  expect(await issue('TimeError')).toMatchObject({ status: 'unresolved', substatus: 'escalating', snooze_until: null });
});

test('ignored without conditions stays ignored; unresolving clears the conditions', async () => {
  const { id } = await issue('ForeverError');
  await setIssueStatus(db.pool, [id], 'ignored');
  await send(event('ForeverError'), event('ForeverError', 'u9'));
  expect(await issue('ForeverError')).toMatchObject({ status: 'ignored', substatus: 'archived_forever' });
  await setIssueStatus(db.pool, [id], 'ignored', null, snooze({ until: new Date(Date.now() - 1000), count: 1 }));
  await setIssueStatus(db.pool, [id], 'unresolved');
  const row = (await db.pool.query('SELECT snooze_until, snooze_count, snooze_details FROM issue WHERE id = $1', [id])).rows[0];
  expect(row).toEqual({ snooze_until: null, snooze_count: null, snooze_details: null });
});

test('ruminate keeps an ignored issue ignored with its conditions', async () => {
  await send(event('KeptError'), event('KeptError'));
  const { id } = await issue('KeptError');
  await setIssueStatus(db.pool, [id], 'ignored', null, snooze({ count: 2, details: { ignoreCount: 2 } }));
  const before = (await db.pool.query('SELECT snooze_count, snooze_base_events, snooze_details FROM issue WHERE id = $1', [id])).rows[0];
  expect(before).toEqual({ snooze_count: '2', snooze_base_events: '2', snooze_details: { ignoreCount: 2 } });
  expect(await cli(['ruminate', '--yes'], { DATABASE_URL: db.url })).toMatch(/re-enqueued/);
  expect((await db.pool.query('SELECT status, snooze_count, snooze_base_events, snooze_details FROM issue WHERE id = $1', [id])).rows[0]).toEqual({ status: 'ignored', ...before });
  // and it still comes back after two more events
  await send(event('KeptError'));
  expect((await issue('KeptError')).status).toBe('ignored');
  await send(event('KeptError'));
  expect(await issue('KeptError')).toMatchObject({ status: 'unresolved', substatus: 'escalating' });
}, 120_000);
