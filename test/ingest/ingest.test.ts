import { createHash, randomBytes } from 'node:crypto';
import { brotliCompressSync, constants as zlibConstants, deflateSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshDatabase, type TestDatabase } from '../helpers/db.js';
import { startServer, type RunningServer } from '../helpers/server.js';
import { createProject } from '../../src/storage/projects.js';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseEnvelope } from '../../src/protocol/envelope.js';
import { PACKAGE_ROOT } from '../../src/paths.js';
import { send } from './http.js';
import { storedBytes } from './stored.js';

// The ingest endpoints over real HTTP against the built server (without its digest worker, so the
// queue holds what ingest put there) and a real PostgreSQL: what is
// accepted lands in archive + queue exactly once; what is refused gets the right 4xx with a JSON
// detail naming the problem (or the limit setting), and the server keeps serving afterwards.

let db: TestDatabase;
let server: RunningServer;
let projectId: number;
let key: string;
const MAX_COMPRESSED = 2 * 1024 * 1024;
const MAX_ENVELOPE = 8 * 1024 * 1024;

beforeAll(async () => {
  db = await freshDatabase();
  const p = await createProject(db.pool, { name: 'ingest' });
  projectId = p.project.id;
  key = p.key.public_key;
  server = await startServer({
    DATABASE_URL: db.url,
    MAX_COMPRESSED_BODY_BYTES: String(MAX_COMPRESSED),
    MAX_ENVELOPE_BYTES: String(MAX_ENVELOPE),
    INGEST_KEY_CACHE_MS: '200',
    RATE_LIMIT_GLOBAL_PER_SEC: '0',
    RATE_LIMIT_PER_IP_PER_SEC: '0',
    RATE_LIMIT_PER_PROJECT_PER_SEC: '0',
  }, ['--no-worker']);
});
afterAll(async () => {
  await server?.stop();
  await db?.drop();
});

const hex = () => createHash('sha256').update(String(Math.random())).digest('hex').slice(0, 32);
const envUrl = (q = `?sentry_version=7&sentry_key=${key}`) => `${server.url}/api/${projectId}/envelope/${q}`;
const storeUrl = () => `${server.url}/api/${projectId}/store/`;
const auth = () => ({ 'x-sentry-auth': `Sentry sentry_key=${key}, sentry_version=7, sentry_client=test/1.0` });
const envelope = (id: string, extra = '') =>
  `{"event_id":"${id}","sent_at":"2026-11-28T12:00:00Z"}\n{"type":"event"}\n{"event_id":"${id}","message":"hello ${extra}"}\n`;

async function archived(eventId: string) {
  const { rows } = await db.pool.query(
    `SELECT a.project_id, a.id, a.dict_id, a.kind, a.encoding, a.raw_size, a.stored_size, a.meta, a.payload, a.sha256,
            (SELECT count(*) FROM queue q WHERE q.archive_id = a.id)::int AS queued
       FROM archive a WHERE a.event_id = $1`,
    [eventId],
  );
  return rows;
}

/** Sends a valid event and checks it is accepted: the server still serves after a refusal. */
async function stillServes() {
  const id = hex();
  const r = await send(envUrl(), { body: envelope(id) });
  expect(r.status, r.text).toBe(200);
  expect(r.json).toEqual({ id });
}

function expectRefused(r: { status: number; json: any; text: string; headers: Record<string, unknown> }, status: number, detail: RegExp) {
  expect(r.status, r.text).toBe(status);
  expect(r.headers['content-type']).toMatch(/application\/json/);
  expect(r.json?.detail, r.text).toMatch(detail);
}

describe('accepting', () => {
  it('stores an envelope (chunked, no content type) in archive and queue, compressed, and answers its id', async () => {
    const id = hex();
    const body = envelope(id);
    const r = await send(envUrl(`?sentry_version=7&sentry_key=${key}&sentry_client=sentry.javascript.node%2F11.12.0`), { body, headers: { 'user-agent': 'sentry.javascript.node/11.12.0' } });
    expect(r.status, r.text).toBe(200);
    expect(r.json).toEqual({ id });
    expect(r.headers['access-control-allow-origin']).toBe('*');
    const rows = await archived(id);
    expect(rows).toHaveLength(1);
    const row = rows[0];
    expect(row.kind).toBe('envelope');
    expect(row.queued).toBe(1);
    expect(row.raw_size).toBe(Buffer.byteLength(body));
    expect(row.stored_size).toBe(row.payload.length);
    // The dedup key: the body as the client sent it, after its content encoding and a NUL (migrations/0015).
    expect(Buffer.compare(row.sha256, createHash('sha256').update('identity\0').update(body).digest())).toBe(0);
    expect((await storedBytes(db.pool, row)).toString()).toBe(body);
    expect(row.meta.sentry_client).toBe('sentry.javascript.node/11.12.0');
    expect(row.meta.ip).toMatch(/127\.0\.0\.1/);
  });

  it('keeps the client compression as sent: gzip, deflate (zlib and raw), br; compresses an uncompressed body', async () => {
    for (const [enc, fn] of [
      ['gzip', gzipSync],
      ['deflate', deflateSync],
      ['br', brotliCompressSync],
      ['', (b: Buffer) => b],
    ] as const) {
      const id = hex();
      const compressed = fn(Buffer.from(envelope(id, enc)));
      const r = await send(envUrl(), { body: compressed, headers: { 'content-encoding': enc, 'content-length': String(compressed.length) } });
      expect(r.status, `${enc}: ${r.text}`).toBe(200);
      const [row] = await archived(id);
      expect((await storedBytes(db.pool, row)).toString()).toBe(envelope(id, enc));
      if (enc) {
        expect(row.encoding).toBe(enc);
        expect(Buffer.compare(row.payload, compressed)).toBe(0);
      } else expect(['deflate-dict', 'br']).toContain(row.encoding);
    }
    // An uncompressed body that the dictionary hardly helps (random text) is stored as brotli or
    // against the dictionary, whichever is smaller.
    const id = hex();
    const noise = Buffer.from(envelope(id, randomBytes(3000).toString('base64')));
    expect((await send(envUrl(), { body: noise })).status).toBe(200);
    const [row] = await archived(id);
    expect(['deflate-dict', 'br']).toContain(row.encoding);
    expect(row.payload.length).toBeLessThanOrEqual(brotliCompressSync(noise, { params: { [zlibConstants.BROTLI_PARAM_QUALITY]: 1, [zlibConstants.BROTLI_PARAM_SIZE_HINT]: noise.length } }).length);
    expect((await storedBytes(db.pool, row)).equals(noise)).toBe(true);
  });

  it('accepts zstd bodies (small: inline; large: decoded in steps), refuses a truncated one', async () => {
    const dir = join(PACKAGE_ROOT, 'test', 'ingest', 'data');
    for (const [file, id] of [['zstd-small.envelope.zst', '5a1f0e2d3c4b5a69788796a5b4c3d2e1'], ['zstd-large.envelope.zst', '6b2f0e2d3c4b5a69788796a5b4c3d2e1']]) {
      const body = readFileSync(join(dir, file));
      const r = await send(envUrl(), { body, headers: { 'content-encoding': 'zstd' } });
      expect(r.status, `${file}: ${r.text}`).toBe(200);
      expect(r.json).toEqual({ id });
      const [row] = await archived(id);
      expect(row.encoding).toBe('zstd');
      expect(parseEnvelope(await storedBytes(db.pool, row)).headers.event_id).toBe(id);
    }
    const large = readFileSync(join(dir, 'zstd-large.envelope.zst'));
    expectRefused(await send(envUrl(), { body: large.subarray(0, large.length - 1000), headers: { 'content-encoding': 'zstd' } }), 400, /zstd/);
  });

  it('accepts a store body with X-Sentry-Auth and answers its event id; generates one when missing', async () => {
    const id = hex();
    const r = await send(storeUrl(), { body: JSON.stringify({ event_id: id, message: 'x' }), headers: { ...auth(), 'content-type': 'application/json' } });
    expect(r.status, r.text).toBe(200);
    expect(r.json).toEqual({ id });
    expect((await archived(id))[0].kind).toBe('store');
    const r2 = await send(storeUrl(), { body: JSON.stringify({ message: 'no id' }), headers: { authorization: `Sentry sentry_key=${key}` } });
    expect(r2.status, r2.text).toBe(200);
    expect(r2.json.id).toMatch(/^[0-9a-f]{32}$/);
    expect(await archived(r2.json.id)).toHaveLength(1);
  });

  it('treats a store request with an envelope content type as an envelope', async () => {
    const id = hex();
    const r = await send(storeUrl(), { body: envelope(id), headers: { ...auth(), 'content-type': 'application/x-sentry-envelope' } });
    expect(r.status, r.text).toBe(200);
    expect(r.json).toEqual({ id });
    expect((await archived(id))[0].kind).toBe('envelope');
  });

  it('accepts NaN/Infinity tokens in a store body (old Python SDKs)', async () => {
    const id = hex();
    const r = await send(storeUrl(), { body: `{"event_id":"${id}","extra":{"a":NaN,"b":-Infinity,"s":"NaN"}}`, headers: auth() });
    expect(r.status, r.text).toBe(200);
  });

  it('answers {} to an envelope without event id, and takes the key from the envelope header dsn', async () => {
    const body = `{"dsn":"http://${key}@localhost:1/${projectId}"}\n{"type":"client_report"}\n{"discarded_events":[]}\n`;
    const r = await send(`${server.url}/api/${projectId}/envelope`, { body, headers: { 'content-type': 'text/plain;charset=UTF-8' } });
    expect(r.status, r.text).toBe(200);
    expect(r.json).toEqual({});
  });

  it('checks the envelope dsn header only as far as it authenticates', async () => {
    const id = hex();
    const withDsn = (dsn: string) => `{"event_id":"${id}","dsn":"${dsn}"}\n{"type":"event"}\n{"message":"dsn"}\n`;
    expect((await send(envUrl(), { body: withDsn('not a dsn') })).status).toBe(200);
    const bare = `${server.url}/api/${projectId}/envelope/`;
    expectRefused(await send(bare, { body: withDsn('not a dsn') }), 400, /dsn is not a valid DSN/);
    expectRefused(await send(envUrl(), { body: withDsn(`http://ffff@localhost/${projectId}`) }), 400, /dsn names another key/);
    expectRefused(await send(bare, { body: withDsn(`http://ffff@localhost/${projectId}`) }), 401, /unknown public key/);
  });

  it('stores an identical payload once and answers both with the same id', async () => {
    const id = hex();
    const body = envelope(id, 'twice');
    const a = await send(envUrl(), { body });
    const b = await send(envUrl(), { body });
    expect([a.status, b.status]).toEqual([200, 200]);
    expect(a.json).toEqual({ id });
    expect(b.json).toEqual({ id });
    const rows = await archived(id);
    expect(rows).toHaveLength(1);
    expect(rows[0].queued).toBe(1);
  });

  it('commits concurrent requests in groups: all answered 200, all rows present, counter bumped', async () => {
    const before = (await db.pool.query(`SELECT coalesce(sum(value),0)::int AS n FROM counter WHERE name = 'ingested'`)).rows[0].n;
    const ids = Array.from({ length: 200 }, () => hex());
    // Identical payloads inside the burst: stored and queued once.
    const dup = hex();
    const answers = await Promise.all([...ids.map((id) => send(envUrl(), { body: envelope(id) })), ...[1, 2, 3].map(() => send(envUrl(), { body: envelope(dup) }))]);
    expect(answers.map((a) => a.status)).toEqual(answers.map(() => 200));
    const { rows } = await db.pool.query(
      `SELECT count(*)::int AS archived, count(q.id)::int AS queued FROM archive a LEFT JOIN queue q ON q.archive_id = a.id WHERE a.event_id = ANY($1::uuid[])`,
      [[...ids, dup]],
    );
    expect(rows[0]).toEqual({ archived: 201, queued: 201 });
    const after = (await db.pool.query(`SELECT coalesce(sum(value),0)::int AS n FROM counter WHERE name = 'ingested'`)).rows[0].n;
    expect(after - before).toBe(201);
  });

  it('answers CORS preflights and puts CORS headers on errors too', async () => {
    const r = await send(envUrl(), { method: 'OPTIONS', headers: { origin: 'https://app.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' } });
    expect(r.status).toBe(200);
    expect(r.headers['access-control-allow-origin']).toBe('https://app.example');
    expect(r.headers['access-control-allow-methods']).toMatch(/POST/);
    expect(r.headers['access-control-max-age']).toBe('3600');
    const e = await send(`${server.url}/api/${projectId}/store/`, { body: '{}', headers: { origin: 'https://app.example' } });
    expect(e.status).toBe(401);
    expect(e.headers['access-control-allow-origin']).toBe('https://app.example');
    expect(e.headers['access-control-expose-headers']).toMatch(/x-sentry-rate-limits/);
  });

  it('accepts security reports with release/environment from the query, and raw minidumps', async () => {
    const csp = JSON.stringify({ 'csp-report': { 'document-uri': 'https://example.com/', 'violated-directive': 'script-src', 'blocked-uri': 'https://evil.example/x.js' } });
    const r = await send(`${server.url}/api/${projectId}/security/?sentry_key=${key}&sentry_release=1.2.3&sentry_environment=prod`, { body: csp, headers: { 'content-type': 'application/csp-report', 'user-agent': 'Mozilla/5.0' } });
    expect(r.status, r.text).toBe(200);
    expect(r.text).toBe('');
    const { rows } = await db.pool.query(`SELECT meta FROM archive WHERE kind = 'security'`);
    expect(rows[0].meta.query).toEqual({ sentry_release: '1.2.3', sentry_environment: 'prod' });
    expect(rows[0].meta.sentry_client).toBe('Mozilla/5.0');
    const alias = await send(`${server.url}/api/${projectId}/csp-report/?sentry_key=${key}`, { body: csp.replace('x.js', 'y.js'), headers: { 'content-type': 'application/csp-report' } });
    expect(alias.status, alias.text).toBe(200);

    const dump = Buffer.concat([Buffer.from('MDMP'), Buffer.alloc(100, 1)]);
    const m = await send(`${server.url}/api/${projectId}/minidump/?sentry_key=${key}`, { body: dump, headers: { 'content-type': 'application/octet-stream' } });
    expect(m.status, m.text).toBe(200);
    expect(m.text).toMatch(/^[0-9a-f]{32}$/);
    const [row] = await archived(m.text);
    expect(row.kind).toBe('minidump');
    expect(Buffer.compare(await storedBytes(db.pool, row), dump)).toBe(0);
    const bad = await send(`${server.url}/api/${projectId}/minidump/?sentry_key=${key}`, { body: 'not a dump', headers: { 'content-type': 'application/octet-stream' } });
    expectRefused(bad, 400, /MDMP/);
  });

  it('GET /health reports counts', async () => {
    const r = await send(`${server.url}/health`, { method: 'GET' });
    expect(r.status).toBe(200);
    expect(r.json.status).toBe('ok');
    const counts = (await db.pool.query(`SELECT (SELECT count(*) FROM queue)::int AS queued, (SELECT sum(value) FROM counter WHERE name = 'ingested')::int AS ingested`)).rows[0];
    expect(r.json.queued).toBe(counts.queued);
    expect(r.json.ingested).toBe(counts.ingested);
    expect(r.json.digested).toBe(0);
    expect(r.json.failed).toBe(0);
  });
});

describe('refusing', () => {
  it('missing key 401, unknown key 401, unknown project 404, key of another project 403', async () => {
    const body = envelope(hex());
    expectRefused(await send(`${server.url}/api/${projectId}/envelope/`, { body }), 401, /missing authentication/);
    expectRefused(await send(envUrl('?sentry_key=ffffffffffffffffffffffffffffffff'), { body }), 401, /unknown public key/);
    expectRefused(await send(envUrl('?sentry_key=bad%20key%00'), { body }), 401, /unknown public key/);
    expectRefused(await send(`${server.url}/api/999999/envelope/?sentry_key=${key}`, { body }), 404, /unknown project 999999/);
    expectRefused(await send(`${server.url}/api/999999/store/`, { body: '{}' }), 404, /unknown project 999999/);
    expectRefused(await send(`${server.url}/api/${projectId}/store/`, { body: '{}' }), 401, /missing authentication/);
    expectRefused(await send(`${server.url}/api/notanumber/store/?sentry_key=${key}`, { body: '{}' }), 404, /unknown project/);
    const other = await createProject(db.pool, { name: 'other' });
    expectRefused(await send(`${server.url}/api/${other.project.id}/envelope/?sentry_key=${key}`, { body }), 403, /does not belong to project/);
    expectRefused(await send(envUrl('?sentry_version=99&sentry_key=' + key), { body }), 400, /unsupported protocol version/);
    await stillServes();
  });

  it('disabled key or project 403; a key disabled after use stops working within INGEST_KEY_CACHE_MS', async () => {
    const p = await createProject(db.pool, { name: 'to-disable' });
    const url = `${server.url}/api/${p.project.id}/store/?sentry_key=${p.key.public_key}`;
    expect((await send(url, { body: JSON.stringify({ event_id: hex() }) })).status).toBe(200);
    await db.pool.query('UPDATE project_key SET disabled = true WHERE public_key = $1', [p.key.public_key]);
    // The cache lives 200 ms here; poll until the refusal shows (bounded, not a fixed sleep).
    let r;
    for (let i = 0; i < 100; i++) {
      r = await send(url, { body: JSON.stringify({ event_id: hex() }) });
      if (r.status !== 200) break;
      await new Promise((res) => setTimeout(res, 50));
    }
    expectRefused(r!, 403, /key is disabled/);
    const q = await createProject(db.pool, { name: 'disabled-project' });
    await db.pool.query('UPDATE project SET disabled = true WHERE id = $1', [q.project.id]);
    expectRefused(await send(`${server.url}/api/${q.project.id}/store/?sentry_key=${q.key.public_key}`, { body: '{}' }), 403, /project .* is disabled/);
  });

  it('unsupported Content-Encoding 415 naming it', async () => {
    expectRefused(await send(envUrl(), { body: envelope(hex()), headers: { 'content-encoding': 'compress' } }), 415, /compress/);
    await stillServes();
  });

  it('truncated gzip and corrupt deflate 400', async () => {
    const gz = gzipSync(Buffer.from(envelope(hex(), 'x'.repeat(5000))));
    expectRefused(await send(envUrl(), { body: gz.subarray(0, gz.length - 20), headers: { 'content-encoding': 'gzip' } }), 400, /could not be decompressed.*gzip/);
    expectRefused(await send(envUrl(), { body: Buffer.from('definitely not deflate'), headers: { 'content-encoding': 'deflate' } }), 400, /deflate/);
    await stillServes();
  });

  it('a gzip bomb (1 GiB of zeros) is stopped at the decompressed limit: MAX_EVENT_BYTES for store, MAX_ENVELOPE_BYTES for envelopes', async () => {
    // 64 gzip members of 16 MiB of zeros each: ~1 MiB on the wire, 1 GiB decompressed.
    const member = gzipSync(Buffer.alloc(16 * 1024 * 1024), { level: 9 });
    const bomb = Buffer.concat(Array.from({ length: 64 }, () => member));
    expect(bomb.length).toBeLessThan(MAX_COMPRESSED);
    expectRefused(await send(storeUrl(), { body: bomb, headers: { ...auth(), 'content-encoding': 'gzip' } }), 413, /MAX_EVENT_BYTES/);
    expectRefused(await send(envUrl(), { body: bomb, headers: { 'content-encoding': 'gzip' } }), 413, /MAX_ENVELOPE_BYTES/);
    await stillServes();
  });

  it('a body over MAX_COMPRESSED_BODY_BYTES is refused 413 while reading, declared or chunked', async () => {
    const big = Buffer.alloc(MAX_COMPRESSED + 1, 0x20);
    expectRefused(await send(storeUrl(), { body: big, headers: { ...auth(), 'content-length': String(big.length) } }), 413, /MAX_COMPRESSED_BODY_BYTES/);
    expectRefused(await send(storeUrl(), { body: [big.subarray(0, 1 << 20), big.subarray(1 << 20)], headers: auth() }), 413, /MAX_COMPRESSED_BODY_BYTES/);
    await stillServes();
  });

  it('an uncompressed event item over MAX_EVENT_BYTES 413', async () => {
    const id = hex();
    const body = `{"event_id":"${id}"}\n{"type":"event"}\n{"message":"${'x'.repeat(1024 * 1024)}"}\n`;
    expectRefused(await send(envUrl(), { body }), 413, /MAX_EVENT_BYTES/);
    await stillServes();
  });

  it('invalid JSON store body, empty body and bad event ids 400', async () => {
    expectRefused(await send(storeUrl(), { body: '{"event_id": "abc", ', headers: auth() }), 400, /not valid JSON/);
    expectRefused(await send(storeUrl(), { body: '[1,2]', headers: auth() }), 400, /not a JSON object/);
    expectRefused(await send(storeUrl(), { body: '', headers: auth() }), 400, /empty request body/);
    expectRefused(await send(storeUrl(), { body: '{"event_id":"not-a-uuid"}', headers: auth() }), 400, /event_id .* is not a UUID/);
    expectRefused(await send(envUrl(), { body: '{"event_id":"zz"}\n' }), 400, /event_id .* is not a UUID/);
    await stillServes();
  });

  it('envelope framing faults 400 naming the fault', async () => {
    const id = hex();
    const cases: [string, RegExp][] = [
      ['not json\n{"type":"event"}\n{}\n', /envelope header is not valid JSON/],
      [`{"event_id":"${id}"}\n{"length":2}\n{}\n`, /has no "type" header/],
      [`{"event_id":"${id}"}\n{"type":"event","length":100}\n{}\n`, /declares length 100 but only/],
      [`{"event_id":"${id}"}\n{"type":"attachment","length":2}\nabc\n`, /not a newline/],
      [`{"event_id":"${id}"}\n[1]\n{}\n`, /header of item 1 is not a JSON object/],
    ];
    for (const [body, detail] of cases) expectRefused(await send(envUrl(), { body }), 400, detail);
    await stillServes();
  });

  it('a broken JSON payload inside an item is accepted: the digest reports it', async () => {
    const id = hex();
    const r = await send(envUrl(), { body: `{"event_id":"${id}"}\n{"type":"event"}\n{"message": broken\n` });
    expect(r.status, r.text).toBe(200);
    expect(await archived(id)).toHaveLength(1);
  });
  it('rate limited: 429 with Retry-After and X-Sentry-Rate-Limits naming the category', async () => {
    const p = await createProject(db.pool, { name: 'limited' });
    await db.pool.query('UPDATE project SET rate_limit_per_sec = 1 WHERE id = $1', [p.project.id]);
    const url = `${server.url}/api/${p.project.id}/store/?sentry_key=${p.key.public_key}`;
    const answers = [];
    // The bucket holds RATE_LIMIT_BURST_SECS (10) seconds of 1/s: 30 requests in a row must overflow it.
    for (let i = 0; i < 30; i++) answers.push(await send(url, { body: JSON.stringify({ event_id: hex() }) }));
    const limited = answers.filter((a) => a.status === 429);
    expect(limited.length).toBeGreaterThan(0);
    expect(answers.every((a) => a.status === 200 || a.status === 429)).toBe(true);
    expect(Number(limited[0]!.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(limited[0]!.headers['x-sentry-rate-limits']).toMatch(/^\d+:error:project:project_rate_limit$/);
    expect(limited[0]!.json.detail).toMatch(/rate limit/);
  });

  it('records every refusal as an outcome with its reason and category', async () => {
    // Outcomes are buffered and written about once a second: poll (bounded) for the rows.
    const want = [
      ['invalid', 'invalid_envelope', 'default'],
      ['invalid', 'invalid_json', 'error'],
      ['invalid', 'unsupported_encoding', 'default'],
      ['too_large', 'MAX_COMPRESSED_BODY_BYTES', 'error'],
      ['too_large', 'MAX_EVENT_BYTES', 'error'],
      ['unauthorized', 'invalid_key', 'default'],
      ['rate_limited', 'project_rate_limit', 'error'],
    ];
    let have: string[] = [];
    for (let i = 0; i < 100; i++) {
      const { rows } = await db.pool.query(`SELECT DISTINCT outcome, reason, category FROM outcome`);
      have = rows.map((r) => `${r.outcome}/${r.reason}/${r.category}`);
      if (want.every((w) => have.includes(w.join('/')))) break;
      await new Promise((res) => setTimeout(res, 100));
    }
    expect(have).toEqual(expect.arrayContaining(want.map((w) => w.join('/'))));
  });
});
