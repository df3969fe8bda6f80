// NUL characters: PostgreSQL's text (and jsonb's \u0000 escape) cannot hold them, so the digest
// drops them from everything it stores. An event or check-in full of them is stored, not failed
// (it used to fail its whole batch with "unsupported Unicode escape sequence").
import { afterAll, beforeAll, expect, test, vi } from 'vitest';
import { freshDatabase, type TestDatabase } from '../helpers/db.js';
import { createProject } from '../../src/storage/projects.js';
import fc from 'fast-check';
import { DimCache, dropNulEscapes } from '../../src/digest/dims.js';
import { digestAll, enqueue, envelope } from './archive.js';

vi.setConfig({ testTimeout: 60_000, hookTimeout: 120_000 });

let db: TestDatabase;
let projectId: number;
const N = '\u0000';

beforeAll(async () => {
  db = await freshDatabase();
  projectId = (await createProject(db.pool, { name: 'nul' })).project.id;
  const event = {
    event_id: 'a'.repeat(32), platform: 'python', message: `m${N}m`, tags: { [`k${N}`]: `v${N}` }, extra: { [`x${N}`]: N },
    exception: { values: [{ type: `Bad${N}Type`, value: `x${N}y`, stacktrace: { frames: [{ function: `f${N}`, filename: 'a.py', in_app: true }] } }] },
  };
  await enqueue(db.pool, projectId, [
    { kind: 'store', body: Buffer.from(JSON.stringify(event)) },
    { kind: 'envelope', body: envelope({}, [[{ type: 'check_in' }, { check_in_id: 'b'.repeat(32), monitor_slug: 'nightly', status: 'ok', monitor_config: { schedule: { type: 'crontab', value: `0 * * * *${N}` } } }]]) },
    { kind: 'envelope', body: envelope({ event_id: 'c'.repeat(32) }, [
      [{ type: 'event' }, { ...event, event_id: 'c'.repeat(32) }],
      [{ type: 'attachment', filename: `a${N}.txt`, content_type: `text/plain${N}` }, 'hello'],
      [{ type: 'user_report' }, { event_id: 'c'.repeat(32), name: `n${N}`, email: `e${N}@x`, comments: `c${N}` }],
      [{ type: 'session' }, { sid: '11111111-0000-4000-8000-000000000000', init: true, started: new Date().toISOString(), status: 'ok', did: `u${N}`, attrs: { release: `r${N}@1`, environment: `p${N}` } }],
      [{ type: 'client_report' }, { discarded_events: [{ reason: `q${N}`, category: `error${N}`, quantity: 1 }] }],
      [{ type: `odd${N}` }, 'x'],
    ]) },
  ]);
  await digestAll(db.pool, new DimCache(), 10);
});
afterAll(async () => db?.drop());

test('an event with NUL characters is a report and an issue, its NULs dropped', async () => {
  expect((await db.pool.query('SELECT error FROM queue_error')).rows).toEqual([]);
  expect((await db.pool.query('SELECT count(*)::int AS n FROM queue')).rows[0].n).toBe(0);
  const { rows: issues } = await db.pool.query(`SELECT title, metadata->>'type' AS type, grouping IS NOT NULL AS explained FROM issue WHERE project_id = $1`, [projectId]);
  expect(issues).toEqual([{ title: 'BadType: xy', type: 'BadType', explained: true }]);
  const { rows: reports } = await db.pool.query('SELECT message, exception_value FROM report WHERE project_id = $1', [projectId]);
  // the store event and its envelope twin (same group: one issue)
  expect(reports).toEqual([0, 1].map(() => ({ message: expect.not.stringContaining(N), exception_value: 'xy' })));
});

test('the items beside it are stored too', async () => {
  const q = async (sql: string) => (await db.pool.query(sql)).rows;
  expect(await q('SELECT filename, content_type FROM attachment')).toEqual([{ filename: 'a.txt', content_type: 'text/plain' }]);
  expect(await q('SELECT name, email, comments FROM user_report')).toEqual([{ name: 'n', email: 'e@x', comments: 'c' }]);
  expect((await q('SELECT count(*)::int AS n FROM session_hourly'))[0].n).toBe(1);
  expect(await q('SELECT reason, category FROM client_report_hourly')).toEqual([{ reason: 'q', category: 'error' }]);
  expect((await q('SELECT count(*)::int AS n FROM report'))[0].n).toBe(2);
  expect((await q('SELECT category FROM item_count_hourly')).map((r) => r.category)).toContain('unknown:odd');
});

test('a check-in whose monitor config has a NUL is stored', async () => {
  const { rows } = await db.pool.query(`SELECT monitor_slug, monitor_config->'schedule'->>'value' AS schedule FROM check_in WHERE project_id = $1`, [projectId]);
  expect(rows).toEqual([{ monitor_slug: 'nightly', schedule: '0 * * * *' }]);
});

test('dropNulEscapes removes exactly the NUL characters of any JSON value, keys included', () => {
  const chars = fc.constantFrom('\u0000', '\\', 'u', '0', '"', 'a', '\u00e9');
  const str = fc.array(chars, { maxLength: 8 }).map((cs) => cs.join(''));
  const value = fc.letrec((tie) => ({
    v: fc.oneof({ depthSize: 'small' }, str, fc.integer(), fc.array(tie('v'), { maxLength: 3 }), fc.dictionary(str, tie('v'), { maxKeys: 3 })),
  })).v;
  const drop = (v: unknown): unknown => (typeof v === 'string' ? v.replace(/\0/g, '')
    : Array.isArray(v) ? v.map(drop)
    : v && typeof v === 'object' ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k.replace(/\0/g, ''), drop(x)])) : v);
  fc.assert(fc.property(value, (v) => {
    expect(JSON.parse(dropNulEscapes(JSON.stringify(v)))).toEqual(drop(v));
  }), { numRuns: 2000 });
});
