import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import { ArchiveDictionaries, DICT_LEASE_MS, type DictCompressed } from '../../src/archive/dictionaries.js';
import { runRetentionPass } from '../../src/archive/retention/pass.js';
import { createLogger } from '../../src/log.js';
import { createProject } from '../../src/storage/projects.js';
import { freshDatabase, type TestDatabase } from '../helpers/db.js';

// Archive dictionaries are leased and retired (src/archive/dictionaries.ts): an ingest process uses a
// dictionary for DICT_LEASE_MS and then inserts its bytes again as a new row; retention deletes a
// dictionary once its project has no payload received before `created_at + DICT_RETIRE_MS`, and only
// then. On real PostgreSQL, with the real classes.

let db: TestDatabase;
let projectId: number;

beforeAll(async () => {
  db = await freshDatabase();
  projectId = Number((await createProject(db.pool, { name: 'dict-retire' })).project.id);
});
afterAll(async () => {
  vi.restoreAllMocks();
  await db?.drop();
});

const BODY = Buffer.from(JSON.stringify({ event_id: 'a'.repeat(32), platform: 'node', message: 'x'.repeat(2000) }));

async function compress(d: ArchiveDictionaries): Promise<DictCompressed> {
  const r = await d.compress(projectId, ArchiveDictionaries.key(projectId, 'store', 'sentry.javascript.node/9.0.0', 'error'), BODY);
  return r!;
}

it('an ingest process uses a dictionary for its lease, then the same bytes under a new row', async () => {
  const dicts = new ArchiveDictionaries(db.pool, createLogger('error'));
  const first = await compress(dicts);
  expect((await compress(dicts)).dict.id).toBe(first.dict.id);
  const now = Date.now();
  vi.spyOn(Date, 'now').mockReturnValue(now + DICT_LEASE_MS + 1);
  const next = await compress(dicts);
  vi.restoreAllMocks();
  expect(next.dict.id).not.toBe(first.dict.id);
  expect(next.dict.bytes.equals(first.dict.bytes)).toBe(true);
  const { rows } = await db.pool.query<{ id: string }>('SELECT id FROM archive_dict WHERE project_id = $1 ORDER BY id', [projectId]);
  expect(rows.map((r) => Number(r.id))).toEqual([first.dict.id, next.dict.id]);
});

it('retention deletes exactly the dictionaries no payload received in their lease can use', async () => {
  await db.pool.query('DELETE FROM archive_dict WHERE project_id = $1', [projectId]);
  const dict = async (daysAgo: number) => Number((await db.pool.query<{ id: string }>(
    "INSERT INTO archive_dict (project_id, bytes, created_at) VALUES ($1, '\\x7b7d', now() - make_interval(secs => $2::float8 * 3600)) RETURNING id", [projectId, daysAgo * 24])).rows[0]!.id);
  const payload = async (daysAgo: number, dictId: number | null, n: number) => db.pool.query(
    `INSERT INTO archive (project_id, sha256, kind, encoding, stored_size, raw_size, received_at, meta, payload, dict_id)
     VALUES ($1, sha256($2::bytea), 'store', $3, 2, 2, now() - make_interval(secs => $4::float8 * 3600), '{}', '\\x7b7d', $5)`,
    [projectId, Buffer.from(String(n)), dictId === null ? 'identity' : 'deflate-dict', daysAgo * 24, dictId]);
  const gone = await dict(60); // its lease ended 59 days ago; every payload left came later
  const used = await dict(30); // a payload of 29.5 days ago may use it
  const leased = await dict(0.1); // still in an ingest process's lease
  const recent = await dict(10);
  await payload(29.5, used, 1);
  await payload(10, recent, 2);
  await payload(5, null, 3);

  const r = (await runRetentionPass(db.pool, { defaultDays: 90, batchSize: 100, lowWaterPercent: 90, sourcemapDays: 90 }))!;
  const { rows } = await db.pool.query<{ id: string }>('SELECT id FROM archive_dict WHERE project_id = $1 ORDER BY id', [projectId]);
  expect(rows.map((x) => Number(x.id))).toEqual([used, leased, recent]);
  expect(rows.map((x) => Number(x.id))).not.toContain(gone);
  expect(r.deleted.filter((d) => d.kind === 'dictionaries')).toEqual([{ kind: 'dictionaries', projectId, events: 0, payloads: 0, payloadBytes: 0, rows: 1 }]);

  // Once the payloads of its lease are gone (deleted by age or by the budget), it goes too.
  await db.pool.query('DELETE FROM archive WHERE project_id = $1 AND dict_id = $2', [projectId, used]);
  await runRetentionPass(db.pool, { defaultDays: 90, batchSize: 100, lowWaterPercent: 90, sourcemapDays: 90 });
  const { rows: after } = await db.pool.query<{ id: string }>('SELECT id FROM archive_dict WHERE project_id = $1 ORDER BY id', [projectId]);
  expect(after.map((x) => Number(x.id))).toEqual([leased, recent]);
});
