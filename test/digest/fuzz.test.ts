// The whole digest under random events, on real PostgreSQL: fixture events with fields replaced by
// arbitrary JSON whose strings hold anything (NUL, halves of surrogate pairs, quotes, backslashes,
// long text), stored as ingest stores them and digested in batches. Every event ends in exactly one
// outcome — a report, or an invalid item with its reason — and no payload fails its batch.
import fc from 'fast-check';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test, vi } from 'vitest';
import { freshDatabase, type TestDatabase } from '../helpers/db.js';
import { createProject } from '../../src/storage/projects.js';
import { DimCache } from '../../src/digest/dims.js';
import { digestAll, enqueue, FIXTURES } from './archive.js';

vi.setConfig({ testTimeout: 120_000, hookTimeout: 120_000 });

const events: Record<string, unknown>[] = [];
const dir = join(FIXTURES, 'sdk-payloads');
for (const d of readdirSync(dir, { withFileTypes: true })) {
  if (!d.isDirectory()) continue;
  for (const f of readdirSync(join(dir, d.name))) {
    if (!f.endsWith('.json') || f.endsWith('.request.json')) continue;
    try {
      const v = JSON.parse(readFileSync(join(dir, d.name, f), 'utf8'));
      if (v && typeof v === 'object' && !Array.isArray(v) && ('exception' in v || 'message' in v || 'threads' in v)) events.push(v);
    } catch {
      /* not an event fixture */
    }
  }
}

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
