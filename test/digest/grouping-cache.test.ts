import { afterAll, beforeAll, vi, expect, test } from 'vitest';
import { freshDatabase, type TestDatabase } from '../helpers/db.js';
import { createProject } from '../../src/storage/projects.js';
import { DimCache } from '../../src/digest/dims.js';
import { enqueue, digestAll as digestAllWith } from './archive.js';
import { at } from '../helpers/time.js';

// Generous limits: CI machines are shared and slow at times; nothing here waits on a clock.
vi.setConfig({ testTimeout: 60_000, hookTimeout: 120_000 });

// The digest's grouping cache keeps hashes only (src/digest/group.ts): an issue created for a
// cached repeat must still get the full grouping explanation, rebuilt from the archived event.

let db: TestDatabase;
let projectId: number;
const cache = new DimCache();

const id = (n: number) => n.toString(16).padStart(32, '0');
const event = (n: number, type = 'KeyError') => ({
  kind: 'store' as const,
  body: Buffer.from(JSON.stringify({
    event_id: id(n), timestamp: at(), platform: 'python',
    exception: { values: [{ type, value: "'k'", stacktrace: { frames: [{ filename: 'app/views.py', module: 'app.views', function: 'get', lineno: 10, in_app: true }] } }] },
  })),
});

const digestAll = () => digestAllWith(db.pool, cache);
const issues = async () => (await db.pool.query<{ id: number; event_count: number; grouping: { primary_hash: string; variants: Record<string, { component?: unknown }> } }>(
  'SELECT id, event_count::int, grouping FROM issue WHERE project_id = $1 ORDER BY id', [projectId])).rows;

beforeAll(async () => {
  db = await freshDatabase();
  projectId = (await createProject(db.pool, { name: 'grouping-cache' })).project.id;
}, 60_000);
afterAll(async () => {
  await db?.drop();
});

test('repeats in one batch and later batches join the issue; its explanation holds the component trees', async () => {
  await enqueue(db.pool, projectId, [event(1), event(2)]);
  await digestAll();
  await enqueue(db.pool, projectId, [event(3)]);
  await digestAll();
  const [issue, ...rest] = await issues();
  expect(rest).toEqual([]);
  expect(issue!.event_count).toBe(3);
  expect(issue!.grouping.variants.app?.component).toBeTruthy();
});

test('an issue created for a cached repeat (its issue was deleted) gets the same explanation, rebuilt from the archive', async () => {
  const [before] = await issues();
  await db.pool.query('DELETE FROM report WHERE project_id = $1', [projectId]);
  await db.pool.query('DELETE FROM issue_hash WHERE project_id = $1', [projectId]);
  await db.pool.query('DELETE FROM issue_tag WHERE project_id = $1', [projectId]);
  await db.pool.query('DELETE FROM issue_user WHERE project_id = $1', [projectId]);
  await db.pool.query('DELETE FROM issue WHERE project_id = $1', [projectId]);
  // Same grouping input as before, new event ids: the grouping comes from the cache.
  await enqueue(db.pool, projectId, [event(4), event(5)]);
  await digestAll();
  const [after, ...rest] = await issues();
  expect(rest).toEqual([]);
  expect(after!.id).not.toBe(before!.id);
  expect(after!.event_count).toBe(2);
  expect(after!.grouping).toEqual(before!.grouping);
});
