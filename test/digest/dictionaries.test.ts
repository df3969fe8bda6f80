import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { attachDictionaries } from '../../src/archive/dictionary-load.js';
import { decodePayload, PayloadError } from '../../src/archive/decode.js';
import type { ArchiveRow } from '../../src/archive/row.js';
import { SDK_PAYLOADS } from '../fixtures/corpus.js';
import { parseEnvelope } from '../../src/protocol/envelope.js';
import { createProject } from '../../src/storage/projects.js';
import { freshDatabase, UNDIGESTED_SQL, type TestDatabase } from '../helpers/db.js';
import { cli, startServer, type RunningServer } from '../helpers/server.js';
import { send } from '../ingest/http.js';
import { spawnWorker, until, type WorkerProcess } from './worker-process.js';

// Payloads stored against archive dictionaries, end to end with real processes: an ingest-only
// server stores them (and makes the dictionaries), stops; a worker in another process, its cache
// empty, digests them; a restarted server shows the full events and the attachment bytes.

const FIXTURES = SDK_PAYLOADS;
const KEY = 'd'.repeat(32);
const NODE_ERROR = readFileSync(join(FIXTURES, 'node/node11_http_handler_error.envelope'));
const WITH_ATTACHMENT = readFileSync(join(FIXTURES, 'node/node11_exception_with_attachment.envelope'));
const ATTACHMENT_EVENT = '2ea8bce4c16e44f88a8c80b92cd9b881';
const PYTHON_STORE = readFileSync(join(FIXTURES, 'python/python1910_store_zero_division.json'));

let db: TestDatabase;
let projectId: number;
let env: Record<string, string>;
let server: RunningServer | null = null;
let worker: WorkerProcess | null = null;
const NO_LIMITS = { RATE_LIMIT_GLOBAL_PER_SEC: '0', RATE_LIMIT_PER_IP_PER_SEC: '0', RATE_LIMIT_PER_PROJECT_PER_SEC: '0' };

beforeAll(async () => {
  db = await freshDatabase();
  projectId = (await createProject(db.pool, { name: 'dict', key: KEY, platform: 'node' })).project.id;
  // Client-compressed bodies too (ARCHIVE_RECOMPRESS_CLIENT_BODIES), so the gzip store bodies use a dictionary.
  env = { DATABASE_URL: db.url, ORGANIZATION_SLUG: 'acme', ARCHIVE_RECOMPRESS_CLIENT_BODIES: 'true', ...NO_LIMITS };
});
afterAll(async () => {
  await worker?.stop();
  await server?.stop();
  await db?.drop();
});

const hex = (n: number) => n.toString(16).padStart(32, '0');
/** The fixture envelope with another event id (same length: item lengths stay right). */
function withId(envelope: Buffer, id: string): Buffer {
  const old = String(parseEnvelope(envelope).headers.event_id).replace(/-/g, '');
  return Buffer.from(envelope.toString('utf8').replaceAll(old, id));
}

describe('archive dictionaries, end to end', () => {
  const nodeIds = [1, 2, 3, 4].map((n) => hex(0xd1c70000 + n));
  const pythonIds = [1, 2].map((n) => hex(0xb7000000 + n));

  it('ingest stores repeats against a dictionary it committed first', async () => {
    server = await startServer(env, ['--no-worker']);
    const envUrl = `${server.url}/api/${projectId}/envelope/?sentry_version=7&sentry_key=${KEY}&sentry_client=sentry.javascript.node%2F11.12.0`;
    for (const id of nodeIds) expect((await send(envUrl, { body: withId(NODE_ERROR, id) })).status).toBe(200);
    expect((await send(envUrl, { body: WITH_ATTACHMENT })).status).toBe(200);
    for (const id of pythonIds) {
      const body = gzipSync(Buffer.from(PYTHON_STORE.toString('utf8').replace(/"event_id":\s*"[0-9a-f]{32}"/, `"event_id":"${id}"`)));
      const r = await send(`${server.url}/api/${projectId}/store/`, {
        body,
        headers: { 'content-type': 'application/json', 'content-encoding': 'gzip', 'x-sentry-auth': `Sentry sentry_key=${KEY}, sentry_version=7, sentry_client=sentry.python/1.9.10` },
      });
      expect(r.status, r.text).toBe(200);
      expect(r.json).toEqual({ id });
    }
    await server.stop();
    server = null;

    const { rows } = await db.pool.query(`SELECT replace(event_id::text, '-', '') AS event_id, encoding, dict_id, stored_size, raw_size FROM archive ORDER BY id`);
    expect(rows).toHaveLength(nodeIds.length + 1 + pythonIds.length);
    expect(rows.every((r) => r.encoding === 'deflate-dict' && r.dict_id !== null)).toBe(true);
    // A repeat of the 8.9 KB Node envelope is a few hundred bytes at most (brotli alone: ~3.4 KB).
    for (const r of rows.filter((x) => nodeIds.includes(x.event_id))) expect(r.stored_size * 20).toBeLessThan(r.raw_size);
    // Node and Python payloads have dictionaries of their own.
    const dictOf = (id: string) => rows.find((r) => r.event_id === id)!.dict_id;
    expect(dictOf(nodeIds[0]!)).not.toBe(dictOf(pythonIds[0]!));
  });

  it('a worker in another process, with an empty cache, digests them', async () => {
    worker = await spawnWorker({ DATABASE_URL: db.url, WORKER_INTERVAL_SECS: '1' });
    await until(async () => (await db.pool.query(UNDIGESTED_SQL)).rows[0].n === 0, 60_000, 'an empty queue');
    await worker.stop();
    worker = null;
    expect((await db.pool.query('SELECT error FROM queue_error')).rows).toEqual([]);
    const reports = (await db.pool.query(`SELECT replace(event_id::text, '-', '') AS id FROM report ORDER BY 1`)).rows.map((r) => r.id);
    expect(reports).toEqual([...nodeIds, ...pythonIds, ATTACHMENT_EVENT].sort());
  });

  it('a restarted server shows the full events and the attachment bytes', async () => {
    server = await startServer(env, ['--no-worker']);
    const token = /^([0-9a-f]{64})$/m.exec(await cli(['token', 'create', '--name', 'dict'], env))![1]!;
    const api = (path: string) => fetch(`${server!.url}/api/0${path}`, { headers: { authorization: `Bearer ${token}` } });
    const expected = JSON.parse(parseEnvelope(NODE_ERROR).items.find((i) => i.headers.type === 'event')!.payload.toString('utf8'));
    for (const id of [nodeIds[0]!, nodeIds[3]!]) {
      const r = await api(`/projects/acme/dict/events/${id}/`);
      expect(r.status).toBe(200);
      const ev = (await r.json()) as { eventID: string; entries: { type: string; data: { values: { type: string; value: string }[] } }[] };
      expect(ev.eventID).toBe(id);
      const exc = ev.entries.find((e) => e.type === 'exception')!.data.values;
      expect(exc.at(-1)).toMatchObject({ type: expected.exception.values.at(-1).type, value: expected.exception.values.at(-1).value });
    }
    expect((await api(`/projects/acme/dict/events/${pythonIds[1]}/`)).status).toBe(200);
    const list = (await (await api(`/projects/acme/dict/events/${ATTACHMENT_EVENT}/attachments/`)).json()) as { id: string }[];
    expect(list).toHaveLength(1);
    const bytes = Buffer.from(await (await api(`/projects/acme/dict/events/${ATTACHMENT_EVENT}/attachments/${list[0]!.id}/?download=1`)).arrayBuffer());
    expect(bytes.equals(parseEnvelope(WITH_ATTACHMENT).items.find((i) => i.headers.type === 'attachment')!.payload)).toBe(true);
  });

  it('attachDictionaries loads what a batch needs; a payload whose dictionary is missing fails with its reason', async () => {
    const { rows } = await db.pool.query<ArchiveRow>('SELECT project_id, id, kind, encoding, event_id, received_at, meta, payload, dict_id FROM archive ORDER BY id');
    for (const r of rows) r.dict_id = r.dict_id === null ? null : Number(r.dict_id);
    await attachDictionaries(db.pool, rows);
    for (const r of rows) expect(decodePayload(r, 1 << 24).length).toBeGreaterThan(0);
    const lost = { ...rows[0]!, dict_id: 999_999, dict: undefined };
    await attachDictionaries(db.pool, [lost]);
    expect(lost.dict).toBeNull();
    expect(() => decodePayload(lost, 1 << 24)).toThrow(PayloadError);
    expect(() => decodePayload(lost, 1 << 24)).toThrow(/dictionary was not loaded/);
  });

  it('attachDictionaries keeps a batch\'s cached dictionaries when loading new ones empties the full cache', async () => {
    // 300 dictionaries: the first 256 fill the process's cache, then a batch needs one of them and a new one
    const { rows: dicts } = await db.pool.query<{ id: string }>(
      `INSERT INTO archive_dict (project_id, bytes) SELECT $1, convert_to('dictionary ' || g, 'UTF8') FROM generate_series(1, 300) g RETURNING id`, [projectId]);
    const ids = dicts.map((d) => Number(d.id));
    const row = (dictId: number) => ({ project_id: projectId, dict_id: dictId }) as ArchiveRow;
    await attachDictionaries(db.pool, ids.slice(0, 256).map(row));
    const batch = [row(ids[0]!), row(ids[299]!)];
    await attachDictionaries(db.pool, batch);
    expect(batch.map((r) => r.dict?.toString())).toEqual(['dictionary 1', 'dictionary 300']);
  });
});
