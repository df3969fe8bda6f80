import { afterAll, beforeAll, expect, test } from 'vitest';
import { DimCache } from '../../src/digest/dims.js';
import { createProject } from '../../src/storage/projects.js';
import { freshDatabase, type TestDatabase } from '../helpers/db.js';
import { digestOneBatch, enqueue, foldOnce } from './archive.js';

// The activity entries the digest writes (src/digest/fold.ts): one `set_regression` per regression,
// even when the events that reopened the issue were received in the same millisecond and are folded
// by two folds (the second finds the same status_changed_at, and must not log the regression again).

let db: TestDatabase;
let projectId: number;
const cache = new DimCache();

beforeAll(async () => {
  db = await freshDatabase();
  projectId = (await createProject(db.pool, { name: 'act' })).project.id;
}, 60_000);
afterAll(async () => {
  await db?.drop();
});

const event = (n: number, receivedAt: Date) => ({
  kind: 'store' as const,
  receivedAt,
  body: Buffer.from(JSON.stringify({ event_id: n.toString(16).padStart(32, '0'), platform: 'python', message: 'same', fingerprint: ['one'] })),
});

const batch = (size: number) => digestOneBatch(db.pool, cache, size);
const fold = () => foldOnce(db.pool);
const entries = async () => (await db.pool.query('SELECT type, user_id FROM issue_activity ORDER BY id')).rows;

test('a regression is logged once, by nobody, in the fold that reopened the issue', async () => {
  await enqueue(db.pool, projectId, [event(1, new Date(Date.now() - 60_000))]);
  expect((await batch(10)).claimed).toBe(1);
  const { id } = (await db.pool.query('SELECT id FROM issue')).rows[0];
  await db.pool.query("UPDATE issue SET status = 'resolved', substatus = NULL, resolved_at = now() - interval '30 seconds' WHERE id = $1", [id]);
  expect(await entries()).toEqual([]);

  // two events received in the same millisecond, digested by two full batches (each leaves a delta)
  const same = new Date();
  await enqueue(db.pool, projectId, [event(2, same), event(3, same), event(4, new Date(same.getTime() + 1000))]);
  expect((await batch(1)).claimed).toBe(1);
  expect(await fold()).toBe(1);
  expect((await db.pool.query('SELECT status, substatus FROM issue')).rows[0]).toEqual({ status: 'unresolved', substatus: 'regressed' });
  expect(await entries()).toEqual([{ type: 'set_regression', user_id: null }]);
  expect((await batch(1)).claimed).toBe(1);
  expect(await fold()).toBe(1);
  expect(await entries()).toEqual([{ type: 'set_regression', user_id: null }]);
  // a later event of the unresolved issue is no regression either
  expect((await batch(10)).claimed).toBe(1);
  expect(await entries()).toEqual([{ type: 'set_regression', user_id: null }]);
});
