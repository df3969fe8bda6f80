import { afterAll, beforeAll, vi, expect, test } from 'vitest';
import { freshDatabase, type TestDatabase } from '../helpers/db.js';
import { createProject } from '../../src/storage/projects.js';
import { DimCache } from '../../src/digest/dims.js';
import { releaseHealth } from '../../src/digest/health-query.js';
import { enqueue, envelope, digestAll as digestAllWith } from './archive.js';
import { at, BASE_MS } from '../helpers/time.js';

// Generous limits: CI machines are shared and slow at times; nothing here waits on a clock.
vi.setConfig({ testTimeout: 60_000, hookTimeout: 120_000 });

// Release health from individual session updates and aggregates, against counts worked out by hand.

let db: TestDatabase;
let projectId: number;
const started = at(15 * 60);
const sid = (n: number) => `${n}`.padStart(8, '0') + '-0000-4000-8000-000000000000';
const attrs = { release: 'app@1.0', environment: 'production' };

function session(n: number, did: string | null, update: Record<string, unknown>) {
  return envelope({ sent_at: new Date().toISOString() }, [[{ type: 'session' }, { sid: sid(n), ...(did ? { did } : {}), started, timestamp: started, attrs, ...update }]]);
}

const digestAll = (batchSize: number) => digestAllWith(db.pool, new DimCache(), batchSize);

beforeAll(async () => {
  db = await freshDatabase();
  projectId = (await createProject(db.pool, { name: 'health' })).project.id;
  const payloads = [
    // s1 (u1): starts, exits cleanly; a later "crashed" is ignored (exited is final)
    session(1, 'u1', { init: true, status: 'ok' }),
    session(1, 'u1', { seq: 2, status: 'exited', duration: 10 }),
    session(1, 'u1', { seq: 3, status: 'crashed', errors: 1 }),
    // s2 (u2): starts, gets an error, crashes
    session(2, 'u2', { init: true, status: 'ok' }),
    session(2, 'u2', { seq: 2, status: 'ok', errors: 1 }),
    session(2, 'u2', { seq: 3, status: 'crashed', errors: 2 }),
    // s3 (u3): ends abnormally (errored, not crashed)
    session(3, 'u3', { init: true, status: 'ok' }),
    session(3, 'u3', { seq: 2, status: 'abnormal' }),
    // s4 (u1 again): crashes at once
    session(4, 'u1', { init: true, status: 'crashed', errors: 1 }),
    // s5 (u6): its init is sent twice (a retry), exits at seq 5; an older seq-3 update arrives late and is ignored
    session(5, 'u6', { init: true, status: 'ok' }),
    Buffer.concat([session(5, 'u6', { init: true, status: 'ok' }), Buffer.from('\n')]),
    session(5, 'u6', { seq: 5, status: 'exited' }),
    session(5, 'u6', { seq: 3, status: 'ok', errors: 1 }),
    // s7 (u8): ends "unhandled" (errored, final, not crashed); a later "crashed" is ignored
    session(7, 'u8', { init: true, status: 'ok' }),
    session(7, 'u8', { seq: 2, status: 'unhandled', errors: 1 }),
    session(7, 'u8', { seq: 3, status: 'crashed', errors: 1 }),
    // s6 (u7): its exit arrives before its init; the late init still counts it once
    session(6, 'u7', { seq: 4, status: 'exited' }),
    session(6, 'u7', { init: true, status: 'ok' }),
    // aggregates (request mode): 4 exited + 2 errored + 1 crashed; and a bucket of user u5 with 1 crash
    envelope({}, [[{ type: 'sessions' }, { aggregates: [{ started: at(15 * 60), exited: 4, errored: 2, crashed: 1 }, { started: at(16 * 60), did: 'u5', crashed: 1 }], attrs }]]),
    // another release: one healthy session
    envelope({}, [[{ type: 'session' }, { sid: sid(9), did: 'u9', init: true, started, status: 'exited', attrs: { release: 'app@2.0' } }]]),
    // invalid: no release
    envelope({}, [[{ type: 'session' }, { sid: sid(10), init: true, started, status: 'ok', attrs: {} }]]),
  ].map((body) => ({ kind: 'envelope' as const, body }));
  await enqueue(db.pool, projectId, payloads);
  await digestAll(3); // small batches: updates of one session span several batches
}, 60_000);
afterAll(async () => {
  await db?.drop();
});

test('hourly counts follow the sessions', async () => {
  const { rows } = await db.pool.query(
    `SELECT hour, release, environment, total::int, errored::int, crashed::int, abnormal::int, exited::int FROM release_health_view WHERE release = 'app@1.0'`);
  // individual: 7 sessions (s1..s7), crashed s2 s4, abnormal s3, errored s2 s3 s4 s7, exited s1 s5 s6
  // aggregates: total 7 + 1, crashed 1 + 1, errored 2 + 1 + 1, exited 4 + 2
  expect(rows).toEqual([{ hour: new Date(BASE_MS), release: 'app@1.0', environment: 'production', total: 15, errored: 8, crashed: 4, abnormal: 1, exited: 9 }]);
});

test('crash-free sessions and users per release', async () => {
  const health = await releaseHealth(db.pool, [projectId]);
  const v1 = health.find((h) => h.release === 'app@1.0')!;
  expect(v1).toMatchObject({ sessions: 15, crashed: 4, abnormal: 1, users: 7, crashedUsers: 3 });
  expect(v1.crashFreeSessions).toBeCloseTo(100 * (1 - 4 / 15), 6);
  // users u1 u2 u3 u5 u6 u7 u8; crashed: u1 (s4), u2, u5
  expect(v1.crashFreeUsers).toBeCloseTo(100 * (1 - 3 / 7), 6);
  const v2 = health.find((h) => h.release === 'app@2.0')!;
  expect(v2).toMatchObject({ sessions: 1, crashed: 0, users: 1, crashFreeSessions: 100, crashFreeUsers: 100 });
  expect(await releaseHealth(db.pool, [projectId], { environments: ['staging'] })).toEqual([]);
});

test('the terminal and newest states are kept per session', async () => {
  const { rows } = await db.pool.query(`SELECT replace(sid::text, '-', '') AS sid, status, seq::int FROM session_state ORDER BY sid`);
  const bySid = new Map(rows.map((r) => [r.sid, r]));
  expect(bySid.get(sid(1).replace(/-/g, ''))).toMatchObject({ status: 'exited', seq: 2 });
  expect(bySid.get(sid(5).replace(/-/g, ''))).toMatchObject({ status: 'exited', seq: 5 });
});

test('a session without release is recorded as invalid', async () => {
  const { rows } = await db.pool.query('SELECT item_type, reason FROM item_invalid');
  expect(rows).toEqual([{ item_type: 'session', reason: 'session without attrs.release' }]);
});
