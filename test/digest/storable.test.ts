// Strings PostgreSQL cannot store as they are (src/digest/storable.ts): NUL characters are dropped and
// lone surrogate halves become U+FFFD. Events and items full of them are stored, not failed (each used
// to fail its whole batch: "unsupported Unicode escape sequence", "could not resolve dimension values").
import { afterAll, beforeAll, expect, test, vi } from 'vitest';
import { freshDatabase, type TestDatabase } from '../helpers/db.js';
import { createProject } from '../../src/storage/projects.js';
import fc from 'fast-check';
import { DimCache } from '../../src/digest/dims.js';
import { storableJson } from '../../src/digest/storable.js';
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
    { kind: 'store', body: Buffer.from(JSON.stringify({ event_id: 'd'.repeat(32), platform: 'python', message: 'lone \ud800 surrogate', tags: { 'k\udc00': 'v\ud800' }, exception: { values: [{ type: 'Half\ud800Error', value: 'x\udfffy', stacktrace: { frames: [{ function: 'f\ud800', filename: 'a.py', in_app: true }] } }] } })) },
  ]);
  await digestAll(db.pool, new DimCache(), 10);
});
afterAll(async () => db?.drop());

test('an event with NUL characters is a report and an issue, its NULs dropped', async () => {
  expect((await db.pool.query('SELECT error FROM queue_error')).rows).toEqual([]);
  expect((await db.pool.query('SELECT count(*)::int AS n FROM queue')).rows[0].n).toBe(0);
  const { rows: issues } = await db.pool.query(`SELECT title, metadata->>'type' AS type, grouping IS NOT NULL AS explained FROM issue WHERE project_id = $1`, [projectId]);
  expect(issues).toEqual(expect.arrayContaining([{ title: 'BadType: xy', type: 'BadType', explained: true }]));
  const { rows: reports } = await db.pool.query(`SELECT message, exception_value FROM report WHERE project_id = $1 AND exception_value = 'xy'`, [projectId]);
  // the store event and its envelope twin (same group: one issue)
  expect(reports).toEqual([0, 1].map(() => ({ message: expect.not.stringContaining(N), exception_value: 'xy' })));
});

test('an event with halves of surrogate pairs is stored, each half as U+FFFD', async () => {
  const r = await db.pool.query(`SELECT i.title, r.message, r.exception_value, t.key, t.value
      FROM report r JOIN issue i ON i.project_id = r.project_id AND i.id = r.issue_id JOIN tag_value t ON t.id = ANY (r.tag_ids) AND t.key LIKE 'k%'
     WHERE r.project_id = $1 AND r.event_id = $2`, [projectId, 'd'.repeat(32)]);
  expect(r.rows).toEqual([{ title: 'Half\ufffdError: x\ufffdy', message: 'lone \ufffd surrogate', exception_value: 'x\ufffdy', key: 'k\ufffd', value: 'v\ufffd' }]);
});

test('the items beside it are stored too', async () => {
  const q = async (sql: string) => (await db.pool.query(sql)).rows;
  expect(await q('SELECT filename, content_type FROM attachment')).toEqual([{ filename: 'a.txt', content_type: 'text/plain' }]);
  expect(await q('SELECT name, email, comments FROM user_report')).toEqual([{ name: 'n', email: 'e@x', comments: 'c' }]);
  expect((await q('SELECT count(*)::int AS n FROM session_hourly'))[0].n).toBe(1);
  expect(await q('SELECT reason, category FROM client_report_hourly')).toEqual([{ reason: 'q', category: 'error' }]);
  expect((await q('SELECT count(*)::int AS n FROM report'))[0].n).toBe(3);
  expect((await q('SELECT category FROM item_count_hourly')).map((r) => r.category)).toContain('unknown');
});

test('a check-in whose monitor config has a NUL is stored', async () => {
  const { rows } = await db.pool.query(`SELECT monitor_slug, monitor_config->'schedule'->>'value' AS schedule FROM check_in WHERE project_id = $1`, [projectId]);
  expect(rows).toEqual([{ monitor_slug: 'nightly', schedule: '0 * * * *' }]);
});

test('storableJson drops exactly the NULs and mends exactly the lone surrogates of any JSON value, keys included', () => {
  const chars = fc.constantFrom('\u0000', '\\', 'u', '0', 'd', '8', '"', 'a', '\u00e9', '\ud800', '\udc00', '\udfff', '\ud83d\ude00');
  const str = fc.array(chars, { maxLength: 8 }).map((cs) => cs.join(''));
  const value = fc.letrec((tie) => ({
    v: fc.oneof({ depthSize: 'small' }, str, fc.integer(), fc.array(tie('v'), { maxLength: 3 }), fc.dictionary(str, tie('v'), { maxKeys: 3 })),
  })).v;
  // halves are paired as sent (a NUL between two halves does not make them a pair), then NULs dropped
  const fix = (s: string) => s.toWellFormed().replace(/\0/g, '');
  const want = (v: unknown): unknown => (typeof v === 'string' ? fix(v)
    : Array.isArray(v) ? v.map(want)
    : v && typeof v === 'object' ? Object.fromEntries(Object.entries(v).map(([k, x]) => [fix(k), want(x)])) : v);
  fc.assert(fc.property(value, (v) => {
    expect(JSON.parse(storableJson(JSON.stringify(v)))).toEqual(want(v));
  }), { numRuns: 3000 });
  // escapes as Python's json.dumps writes them (ensure_ascii): pairs kept, halves mended
  expect(JSON.parse(storableJson('["\\ud83d\\ude00", "\\ud83d", "\\ude00\\ud83d", "\\\\ud800"]'))).toEqual(['\ud83d\ude00', '\ufffd', '\ufffd\ufffd', '\\ud800']);
});
