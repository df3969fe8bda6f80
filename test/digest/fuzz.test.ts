// The whole digest under random events, on real PostgreSQL: fixture events with fields replaced by
// arbitrary JSON whose strings hold anything (NUL, halves of surrogate pairs, quotes, backslashes,
// long text), stored as ingest stores them and digested in batches. Every event ends in exactly one
// outcome — a report, or an invalid item with its reason — and no payload fails its batch.
import fc from 'fast-check';
import { afterAll, beforeAll, expect, test, vi } from 'vitest';
import { freshDatabase, type TestDatabase } from '../helpers/db.js';
import { createProject } from '../../src/storage/projects.js';
import { DimCache } from '../../src/digest/dims.js';
import { digestAll, enqueue, fixtureCorpus } from './archive.js';

vi.setConfig({ testTimeout: 120_000, hookTimeout: 120_000 });

// The corpus's store events (one JSON object each) that say what went wrong.
const events = fixtureCorpus()
  .filter((f) => f.payload.kind === 'store')
  .map((f) => JSON.parse(f.payload.body.toString('utf8')) as Record<string, unknown>)
  .filter((v) => v && typeof v === 'object' && !Array.isArray(v) && ('exception' in v || 'message' in v || 'threads' in v));

const FIELDS = ['exception', 'threads', 'stacktrace', 'message', 'logentry', 'tags', 'user', 'request', 'contexts', 'timestamp', 'level', 'platform',
  'fingerprint', 'release', 'environment', 'sdk', 'transaction', 'server_name', 'extra', 'culprit', 'checksum', 'type', 'dist', 'logger'];
// Strings of anything: every code unit, the characters PostgreSQL cannot store, JSON's and SQL array literals' specials.
const hostile = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 12 }),
  fc.array(fc.constantFrom('\u0000', '\ud800', '\udfff', '\ud83d\ude00', '"', '\\', '{', '}', ',', 'NULL', ' ', '\n', 'é', 'a'), { maxLength: 10 }).map((a) => a.join('')),
  fc.constant('x'.repeat(3000)),
);
const json: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  v: fc.oneof({ depthSize: 'small', maxDepth: 4 }, hostile, fc.integer(), fc.double(), fc.boolean(), fc.constant(null),
    fc.array(tie('v'), { maxLength: 4 }), fc.dictionary(fc.oneof(hostile, fc.constantFrom('type', 'value', 'values', 'frames', 'function', 'id', 'os', 'name')), tie('v'), { maxKeys: 4 })),
})).v;

let db: TestDatabase;
let projectId: number;
beforeAll(async () => {
  db = await freshDatabase();
  projectId = (await createProject(db.pool, { name: 'fuzz' })).project.id;
});
afterAll(async () => db?.drop());

test('random events each end as a report or an invalid item, and no batch fails', async () => {
  expect(events.length).toBeGreaterThan(20);
  const samples = fc.sample(fc.tuple(fc.nat(events.length - 1), fc.array(fc.tuple(fc.constantFrom(...FIELDS), json), { minLength: 1, maxLength: 4 })), { numRuns: 400, seed: 42 });
  const payloads = samples.map(([i, replacements], n) => {
    const ev: Record<string, unknown> = { ...events[i]!, event_id: n.toString(16).padStart(32, '0') };
    for (const [k, v] of replacements) ev[k] = v;
    return { kind: 'store' as const, body: Buffer.from(JSON.stringify(ev)) };
  });
  await enqueue(db.pool, projectId, payloads);
  await digestAll(db.pool, new DimCache(), 50);
  const one = async (sql: string) => (await db.pool.query(sql)).rows[0];
  expect((await db.pool.query('SELECT error FROM queue_error')).rows).toEqual([]);
  expect((await one('SELECT count(*)::int AS n FROM queue')).n).toBe(0);
  const reports = (await one('SELECT count(*)::int AS n FROM report')).n;
  const invalid = (await one('SELECT count(*)::int AS n FROM item_invalid')).n;
  const transactions = (await one(`SELECT coalesce(sum(items), 0)::int AS n FROM item_count_hourly WHERE category = 'transaction'`)).n;
  expect(reports + invalid + transactions).toBe(payloads.length);
  expect(reports).toBeGreaterThan(payloads.length / 2);
});

test('random envelopes of every item type digest without failing a batch; what is refused says why', async () => {
  const item = (type: string) => fc.record({ type: fc.constant(type), body: json });
  const realistic = {
    session: fc.record({ sid: fc.uuid(), init: fc.boolean(), started: fc.constant(new Date().toISOString()), status: fc.oneof(fc.constantFrom('ok', 'exited', 'crashed', 'abnormal', 'errored'), hostile), errors: fc.oneof(fc.nat(5), json), did: hostile, attrs: fc.record({ release: hostile, environment: hostile }) }),
    sessions: fc.record({ aggregates: fc.array(fc.record({ started: fc.constant(new Date().toISOString()), exited: fc.nat(3), errored: fc.oneof(fc.nat(3), json), crashed: fc.nat(3), did: hostile }), { maxLength: 3 }), attrs: fc.record({ release: hostile, environment: hostile }) }),
    client_report: fc.record({ discarded_events: fc.array(fc.record({ reason: hostile, category: hostile, quantity: fc.oneof(fc.nat(9), json) }), { maxLength: 3 }) }),
    check_in: fc.record({ check_in_id: fc.uuid(), monitor_slug: hostile, status: fc.oneof(fc.constantFrom('ok', 'error', 'in_progress'), hostile), duration: fc.oneof(fc.double(), json), environment: hostile, monitor_config: json }),
    user_report: fc.record({ event_id: fc.constant('e'.repeat(32)), name: hostile, email: hostile, comments: hostile }),
    feedback: fc.record({ contexts: fc.record({ feedback: fc.record({ message: hostile, contact_email: hostile, name: hostile, url: hostile }) }) }),
  } as const;
  const anyItem = fc.oneof(
    ...Object.entries(realistic).map(([type, body]) => fc.record({ type: fc.constant(type), body: body as fc.Arbitrary<unknown> })),
    ...Object.keys(realistic).map(item),
    fc.record({ type: fc.constant('attachment'), body: hostile, filename: hostile, content_type: hostile }),
    fc.record({ type: hostile, body: hostile }),
  );
  const envelopes = fc.sample(fc.array(anyItem, { minLength: 1, maxLength: 4 }), { numRuns: 300, seed: 7 });
  const payloads = envelopes.map((items, n) => {
    const parts = [JSON.stringify({ event_id: (100_000 + n).toString(16).padStart(32, '0') })];
    for (const it of items as { type: string; body: unknown; filename?: string; content_type?: string }[]) {
      const body = Buffer.from(typeof it.body === 'string' && it.type === 'attachment' ? it.body : JSON.stringify(it.body));
      parts.push(JSON.stringify({ type: it.type, length: body.length, ...(it.filename !== undefined ? { filename: it.filename, content_type: it.content_type } : {}) }), body.toString());
    }
    return { kind: 'envelope' as const, body: Buffer.from(parts.join('\n') + '\n') };
  });
  const before = (await db.pool.query('SELECT count(*)::int AS n FROM queue_error')).rows[0].n;
  await enqueue(db.pool, projectId, payloads);
  await digestAll(db.pool, new DimCache(), 50);
  // Only framing that ingest refuses too (an item type that is empty) may send a payload to queue_error, with that reason.
  const { rows: failed } = await db.pool.query<{ error: string }>('SELECT error FROM queue_error OFFSET $1', [before]);
  for (const f of failed) expect(f.error).toMatch(/^envelope: item \d+ has no "type" header$/);
  expect((await db.pool.query('SELECT count(*)::int AS n FROM queue')).rows[0].n).toBe(0);
  const { rows: reasons } = await db.pool.query<{ reason: string }>('SELECT DISTINCT reason FROM item_invalid');
  for (const r of reasons) expect(r.reason.length).toBeGreaterThan(5);
  // the realistic ones mostly land
  expect((await db.pool.query('SELECT count(*)::int AS n FROM session_hourly')).rows[0].n).toBeGreaterThan(0);
  expect((await db.pool.query('SELECT count(*)::int AS n FROM check_in')).rows[0].n).toBeGreaterThan(0);
});

test('deeply nested JSON: a check-in config is refused with its reason, events are stored or refused with theirs', async () => {
  const deep = (n: number) => '['.repeat(n) + ']'.repeat(n);
  const ci = `{"check_in_id":"${'b'.repeat(32)}","monitor_slug":"deep","status":"ok","monitor_config":{"schedule":${deep(5000)}}}`;
  const ev = (n: number, field: string) => `{"event_id":"${n.toString(16).padStart(32, '0')}","platform":"python","message":"deep",${field}}`;
  await db.pool.query('DELETE FROM item_invalid');
  await enqueue(db.pool, projectId, [
    { kind: 'envelope', body: Buffer.from(`{}\n{"type":"check_in","length":${ci.length}}\n${ci}\n`) },
    { kind: 'store', body: Buffer.from(ev(900_001, `"exception":{"values":[{"type":"E","value":"v","mechanism":{"type":"x","data":${deep(5000)}}}]}`)) },
    { kind: 'store', body: Buffer.from(ev(900_002, `"tags":{"a":${deep(3000)}},"contexts":{"os":${deep(5000)}},"extra":{"a":${deep(5000)}}`)) },
    { kind: 'store', body: Buffer.from(ev(900_003, `"logentry":{"message":"m %s","params":[${deep(9000)}]}`)) },
  ]);
  const before = (await db.pool.query('SELECT count(*)::int AS n FROM queue_error')).rows[0].n;
  await digestAll(db.pool, new DimCache(), 10);
  expect((await db.pool.query('SELECT count(*)::int AS n FROM queue_error')).rows[0].n).toBe(before);
  const stored = async (n: number) => (await db.pool.query('SELECT count(*)::int AS n FROM report WHERE event_id = $1', [n.toString(16).padStart(32, '0')])).rows[0].n;
  expect(await stored(900_001)).toBe(1);
  expect(await stored(900_002)).toBe(1);
  // 9,000 levels of logentry params: stored, or refused saying so — one outcome either way
  const third = await stored(900_003);
  const { rows } = await db.pool.query('SELECT item_type, reason FROM item_invalid ORDER BY item_type');
  expect(rows).toEqual([
    { item_type: 'check_in', reason: 'check_in monitor_config nested deeper than 32 levels' },
    ...(third ? [] : [{ item_type: 'event', reason: 'event: JSON nested too deeply' }]),
  ]);
});
