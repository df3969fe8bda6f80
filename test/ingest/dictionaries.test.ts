import { randomBytes } from 'node:crypto';
import { inflateRawSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ArchiveDictionaries, DICT_MAX_BYTES, type DictCompressed } from '../../src/archive/dictionaries.js';
import { createLogger } from '../../src/log.js';
import { createProject } from '../../src/storage/projects.js';
import { freshDatabase, type TestDatabase } from '../helpers/db.js';

// Ingest's archive dictionaries against a real PostgreSQL: the first payload of a key becomes its
// dictionary (committed before it is used), repeats compress to a few bytes, keys do not share, a
// new shape of payload gets a new dictionary once the old one stops fitting, and the cache is bounded.

let db: TestDatabase;
let projectId: number;
const log = createLogger('error');

beforeAll(async () => {
  db = await freshDatabase();
  projectId = (await createProject(db.pool, { name: 'dicts' })).project.id;
});
afterAll(async () => {
  await db?.drop();
});

const dictRows = async () => (await db.pool.query<{ id: number; bytes: Buffer }>('SELECT id, bytes FROM archive_dict WHERE project_id = $1 ORDER BY id', [projectId])).rows;

/** A JSON event of one "shape" (its own random strings) with a fresh event id. */
function shape(seed: string): (n: number) => Buffer {
  const frames = Array.from({ length: 30 }, (_, i) => ({ filename: `/app/${seed}/${randomBytes(6).toString('hex')}.js`, function: `fn_${seed}_${i}`, lineno: i * 7 }));
  return (n) => Buffer.from(JSON.stringify({ event_id: randomBytes(16).toString('hex'), n, exception: { values: [{ type: `Error_${seed}`, stacktrace: { frames } }] } }));
}

async function compress(d: ArchiveDictionaries, key: string, raw: Buffer): Promise<DictCompressed> {
  const r = await d.compress(projectId, key, raw);
  expect(r).not.toBeNull();
  // Always decodable with the committed bytes of the dictionary it names.
  const { rows } = await db.pool.query<{ bytes: Buffer }>('SELECT bytes FROM archive_dict WHERE project_id = $1 AND id = $2', [projectId, r!.dict.id]);
  expect(inflateRawSync(r!.stored, { dictionary: rows[0]!.bytes }).equals(raw)).toBe(true);
  return r!;
}

describe('ArchiveDictionaries', () => {
  it('makes the first payload of a key its dictionary, shares it with concurrent requests, compresses repeats to a few bytes', async () => {
    const d = new ArchiveDictionaries(db.pool, log);
    const a = shape('a');
    const key = ArchiveDictionaries.key(projectId, 'envelope', 'sentry.javascript.node/11.12.0', 'error');
    const first = await Promise.all([0, 1, 2].map((n) => compress(d, key, a(n))));
    expect(new Set(first.map((f) => f.dict.id)).size).toBe(1);
    expect(await dictRows()).toHaveLength(1);
    const raw = a(3);
    const r = await compress(d, key, raw);
    expect(r.stored.length * 20).toBeLessThan(raw.length);
    // The SDK's version is not part of the key; the SDK, the endpoint kind and the category are.
    expect(ArchiveDictionaries.key(projectId, 'envelope', 'sentry.javascript.node/11.13.0', 'error')).toBe(key);
    expect(ArchiveDictionaries.key(projectId, 'store', 'sentry.javascript.node/11.12.0', 'error')).not.toBe(key);
    expect(ArchiveDictionaries.key(projectId, 'envelope', 'sentry.javascript.node/11.12.0', 'session')).not.toBe(key);
    const other = await compress(d, ArchiveDictionaries.key(projectId, 'envelope', 'sentry.python/2.0.0', 'error'), a(4));
    expect(other.dict.id).not.toBe(r.dict.id);
  });

  it('replaces a dictionary that stopped fitting by its tail plus the payload that missed', async () => {
    const d = new ArchiveDictionaries(db.pool, log);
    const key = ArchiveDictionaries.key(projectId, 'store', 'sentry.go', 'error');
    const a = shape('first');
    const b = shape('second');
    const start = await compress(d, key, a(0));
    for (let i = 1; i < 20; i++) expect((await compress(d, key, a(i))).dict.id).toBe(start.dict.id);
    // Payloads of another shape miss; after enough of them a new dictionary is committed.
    let replaced: DictCompressed | null = null;
    // The replacement is inserted in the background: past 200 payloads, give its commit time (a busy
    // machine's PostgreSQL may take longer than 200 turns of the event loop).
    for (let i = 0; i < 1200 && !replaced; i++) {
      const r = await compress(d, key, b(i));
      if (r.dict.id !== start.dict.id) replaced = r;
      await new Promise((res) => (i < 200 ? setImmediate(res) : setTimeout(res, 10)));
    }
    expect(replaced).not.toBeNull();
    const raw = b(1000);
    const after = await compress(d, key, raw);
    expect(after.stored.length * 10).toBeLessThan(raw.length);
    // The old shape still fits: the new dictionary kept the old one's tail.
    const old = a(1000);
    expect((await compress(d, key, old)).stored.length * 10).toBeLessThan(old.length);
    const bytes = (await dictRows()).find((r) => Number(r.id) === after.dict.id)!.bytes;
    expect(bytes.length).toBeLessThanOrEqual(DICT_MAX_BYTES);
    expect(bytes.includes(Buffer.from('Error_first'))).toBe(true);
  });

  it('keeps a bounded number of keys', async () => {
    const d = new ArchiveDictionaries(db.pool, log, 3);
    const a = shape('bounded');
    for (let i = 0; i < 5; i++) await compress(d, ArchiveDictionaries.key(projectId, 'envelope', `sdk-${i}`, 'error'), a(i));
    expect(d.size).toBe(3);
  });

  it('stores without a dictionary when its insert fails, and does not retry at once', async () => {
    const d = new ArchiveDictionaries(db.pool, log);
    // No such project: the insert violates archive_dict's foreign key.
    expect(await d.compress(987654, ArchiveDictionaries.key(987654, 'envelope', 'x', 'error'), shape('x')(0))).toBeNull();
    const before = (await db.pool.query('SELECT count(*)::int AS n FROM archive_dict')).rows[0].n;
    expect(d.compress(987654, ArchiveDictionaries.key(987654, 'envelope', 'x', 'error'), shape('x')(1))).toBeNull();
    expect((await db.pool.query('SELECT count(*)::int AS n FROM archive_dict')).rows[0].n).toBe(before);
  });
});
