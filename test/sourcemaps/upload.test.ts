import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshDatabase, type TestDatabase } from '../helpers/db.js';
import { cli, startServer, type RunningServer } from '../helpers/server.js';
import { bundleFiles, makeZip } from './zip.js';

// The upload endpoints over real HTTP, with the failures sentry-cli can meet: a truncated or
// oversized chunk, chunks never uploaded, a corrupt zip, a manifest naming a file the zip lacks,
// a bundle over the bundle or project limit. Each is a 4xx naming the problem or the assemble state
// "error" with the reason, never a 5xx. (The success path with the real sentry-cli: e2e.test.ts.)

const CHUNK = 64 * 1024;
let db: TestDatabase;
let server: RunningServer;
let token: string;

const sha1 = (b: Buffer) => createHash('sha1').update(b).digest('hex');

function form(parts: { field: string; name: string; data: Buffer }[]): { body: Buffer; type: string } {
  const boundary = 'b0undary' + Math.random().toString(16).slice(2);
  const chunks: Buffer[] = [];
  for (const p of parts) {
    chunks.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${p.field}"; filename="${p.name}"\r\nContent-Type: application/octet-stream\r\n\r\n`), p.data, Buffer.from('\r\n'));
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return { body: Buffer.concat(chunks), type: `multipart/form-data; boundary=${boundary}` };
}

async function post(path: string, body: Buffer | string, type: string, auth = true): Promise<{ status: number; json: any }> {
  const r = await fetch(server.url + path, { method: 'POST', body, headers: { 'content-type': type, ...(auth ? { authorization: `Bearer ${token}` } : {}) } });
  return { status: r.status, json: await r.json() };
}

async function uploadChunks(data: Buffer[], field = 'file'): Promise<{ status: number; json: any }> {
  const f = form(data.map((d) => ({ field, name: sha1(field === 'file_gzip' ? Buffer.from(d) : d), data: field === 'file_gzip' ? gzipSync(d) : d })));
  return post('/api/0/organizations/acme/chunk-upload/', f.body, f.type);
}

async function assemble(zip: Buffer, chunks = [zip], extra: Record<string, unknown> = {}): Promise<any> {
  const r = await post('/api/0/organizations/acme/artifactbundle/assemble/', JSON.stringify({ checksum: sha1(zip), chunks: chunks.map(sha1), projects: ['web'], ...extra }), 'application/json');
  expect(r.status).toBe(200);
  return r.json;
}

/** Uploads a zip as one chunk and assembles it. */
async function uploadBundle(zip: Buffer, extra: Record<string, unknown> = {}): Promise<any> {
  expect((await uploadChunks([zip])).status).toBe(200);
  return assemble(zip, [zip], extra);
}

const MAP = JSON.stringify({ version: 3, sources: ['a.js'], names: [], mappings: 'AAAA' });

beforeAll(async () => {
  db = await freshDatabase();
  const env = { DATABASE_URL: db.url, ORGANIZATION_SLUG: 'acme' };
  await cli(['project', 'create', '--name', 'web', '--platform', 'javascript'], env);
  token = /^([0-9a-f]{64})$/m.exec(await cli(['token', 'create', '--name', 'up'], env))![1]!;
  server = await startServer({ ...env, SOURCEMAP_CHUNK_BYTES: String(CHUNK), SOURCEMAP_MAX_BUNDLE_BYTES: String(4 * CHUNK), SOURCEMAP_MAX_PROJECT_BYTES: String(6 * CHUNK) });
});
afterAll(async () => {
  await server?.stop();
  await db?.drop();
});

describe('chunk-upload', () => {
  it('tells sentry-cli how to upload', async () => {
    const r = await fetch(server.url + '/api/0/organizations/acme/chunk-upload/', { headers: { authorization: `Bearer ${token}` } });
    expect(r.status).toBe(200);
    expect(await r.json()).toEqual({
      url: `http://127.0.0.1:${server.port}/api/0/organizations/acme/chunk-upload/`, chunkSize: CHUNK, chunksPerRequest: 4, maxFileSize: 4 * CHUNK, maxRequestSize: 4 * CHUNK,
      concurrency: 4, hashAlgorithm: 'sha1', compression: ['gzip'], accept: ['artifact_bundles', 'artifact_bundles_v2'], maxWait: 60,
    });
  });

  it('needs a token and the organization', async () => {
    expect((await post('/api/0/organizations/acme/chunk-upload/', 'x', 'text/plain', false)).status).toBe(401);
    const r = await fetch(server.url + '/api/0/organizations/other/chunk-upload/', { headers: { authorization: `Bearer ${token}` } });
    expect(r.status).toBe(404);
  });

  it('stores chunks, plain and gzipped, once each', async () => {
    const a = Buffer.from('chunk a');
    const b = Buffer.from('chunk b');
    expect((await uploadChunks([a])).status).toBe(200);
    expect((await uploadChunks([a])).status).toBe(200);
    expect((await uploadChunks([b], 'file_gzip')).status).toBe(200);
    const { rows } = await db.pool.query('SELECT encode(sha1, $$hex$$) AS s, data FROM upload_chunk ORDER BY data');
    expect(rows).toEqual([{ s: sha1(a), data: a }, { s: sha1(b), data: b }]);
  });

  it('refuses a truncated chunk, naming its checksum', async () => {
    const whole = Buffer.alloc(1000, 7);
    const f = form([{ field: 'file', name: sha1(whole), data: whole.subarray(0, 600) }]);
    const r = await post('/api/0/organizations/acme/chunk-upload/', f.body, f.type);
    expect(r.status).toBe(400);
    expect(r.json.detail).toContain(`chunk ${sha1(whole)} does not match its checksum`);
  });

  it('refuses a chunk over SOURCEMAP_CHUNK_BYTES, a request over four chunks, a bad name, corrupt gzip', async () => {
    const big = await uploadChunks([Buffer.alloc(CHUNK + 1, 1)]);
    expect(big.status).toBe(413);
    expect(big.json.detail).toContain('SOURCEMAP_CHUNK_BYTES');
    const many = await uploadChunks([1, 2, 3, 4, 5].map((i) => Buffer.from(`c${i}`)));
    expect(many.status).toBe(413);
    const f = form([{ field: 'file', name: 'not-a-sha1', data: Buffer.from('x') }]);
    expect((await post('/api/0/organizations/acme/chunk-upload/', f.body, f.type)).json.detail).toMatch(/filename must be its sha1/);
    const g = form([{ field: 'file_gzip', name: sha1(Buffer.from('x')), data: Buffer.from('not gzip') }]);
    const bad = await post('/api/0/organizations/acme/chunk-upload/', g.body, g.type);
    expect(bad.status).toBe(400);
    expect(bad.json.detail).toContain('not valid gzip');
    const notForm = await post('/api/0/organizations/acme/chunk-upload/', 'hello', 'text/plain');
    expect(notForm.status).toBe(400);
  });
});

describe('artifactbundle/assemble', () => {
  it('names the chunks it lacks, then assembles once they are there', async () => {
    const zip = await makeZip(bundleFiles([
      { path: 'files/_/_/app.min.js', type: 'minified_source', url: '~/app.min.js', headers: { 'debug-id': '0D4A2E9B-1A2B-4C3D-8E9F-001122334455', Sourcemap: 'app.min.js.map' }, data: 'x' },
      { path: 'files/_/_/app.min.js.map', type: 'source_map', url: '~/app.min.js.map', headers: { 'debug-id': '0d4a2e9b-1a2b-4c3d-8e9f-001122334455' }, data: MAP },
    ]));
    const half = zip.length >> 1;
    const parts = [zip.subarray(0, half), zip.subarray(half)];
    expect(await assemble(zip, parts, { version: 'web@1', dist: 'd1' })).toEqual({ state: 'not_found', missingChunks: parts.map(sha1), detail: null });
    expect((await uploadChunks([parts[0]!])).status).toBe(200);
    expect(await assemble(zip, parts, { version: 'web@1', dist: 'd1' })).toEqual({ state: 'not_found', missingChunks: [sha1(parts[1]!)], detail: null });
    expect((await uploadChunks([parts[1]!])).status).toBe(200);
    expect(await assemble(zip, parts, { version: 'web@1', dist: 'd1' })).toEqual({ state: 'ok', missingChunks: [], detail: null });
    // polled again: still ok, and the chunks are gone (their bytes live in the files now)
    expect((await assemble(zip, parts)).state).toBe('ok');
    const { rows } = await db.pool.query(`SELECT b.release, b.dist, f.kind, f.url, f.debug_id::text, f.sourcemap FROM artifact_file f JOIN artifact_bundle b ON b.id = f.bundle_id ORDER BY f.url`);
    expect(rows).toEqual([
      { release: 'web@1', dist: 'd1', kind: 'minified_source', url: '~/app.min.js', debug_id: '0d4a2e9b-1a2b-4c3d-8e9f-001122334455', sourcemap: 'app.min.js.map' },
      { release: 'web@1', dist: 'd1', kind: 'source_map', url: '~/app.min.js.map', debug_id: '0d4a2e9b-1a2b-4c3d-8e9f-001122334455', sourcemap: null },
    ]);
    expect((await db.pool.query('SELECT 1 FROM upload_chunk WHERE sha1 = ANY($1::bytea[])', [parts.map((p) => Buffer.from(sha1(p), 'hex'))])).rows).toEqual([]);
  });

  it('stores a file held by two bundles once', async () => {
    const shared = { path: 'files/_/_/lib.js.map', type: 'source_map', url: '~/lib.js.map', data: MAP.replace('a.js', 'lib.js') };
    const one = await makeZip(bundleFiles([shared, { path: 'files/_/_/one.js.map', type: 'source_map', url: '~/one.js.map', data: MAP.replace('a.js', 'one.js') }]));
    const two = await makeZip(bundleFiles([shared, { path: 'files/_/_/two.js.map', type: 'source_map', url: '~/two.js.map', data: MAP.replace('a.js', 'two.js') }]));
    expect((await uploadBundle(one)).state).toBe('ok');
    expect((await uploadBundle(two)).state).toBe('ok');
    const { rows } = await db.pool.query(`SELECT count(*)::int AS files, count(DISTINCT blob_sha1)::int AS blobs FROM artifact_file WHERE url = '~/lib.js.map'`);
    expect(rows[0]).toEqual({ files: 2, blobs: 1 });
    expect((await db.pool.query(`SELECT count(*)::int AS n FROM artifact_blob WHERE sha1 = (SELECT blob_sha1 FROM artifact_file WHERE url = '~/lib.js.map' LIMIT 1)`)).rows[0].n).toBe(1);
  });

  it('says error, with the reason, for a corrupt zip', async () => {
    const zip = await makeZip(bundleFiles([{ path: 'f/a.js.map', type: 'source_map', url: '~/a.js.map', data: MAP }]));
    const corrupt = Buffer.from(zip);
    corrupt.fill(0, 40, 80); // inside the first entry's data and header
    const r = await uploadBundle(corrupt);
    expect(r.state).toBe('error');
    expect(r.detail).toMatch(/^the bundle is not a valid zip file/);
    const notZip = await uploadBundle(Buffer.from('definitely not a zip file'));
    expect(notZip).toMatchObject({ state: 'error', detail: expect.stringMatching(/not a valid zip file/) });
  });

  it('says error for a manifest naming a file outside the bundle, no manifest, an unknown type', async () => {
    const outside = await makeZip({ 'manifest.json': JSON.stringify({ files: { '../../etc/passwd': { type: 'source_map', url: '~/x.map' } } }) });
    expect(await uploadBundle(outside)).toMatchObject({ state: 'error', detail: 'the bundle manifest names "../../etc/passwd", which is not a file in the bundle' });
    const none = await makeZip({ 'a.js': 'x' });
    expect(await uploadBundle(none)).toMatchObject({ state: 'error', detail: 'the bundle has no manifest.json' });
    const badType = await makeZip(bundleFiles([{ path: 'a', type: 'executable', url: '~/a', data: 'x' }]));
    expect((await uploadBundle(badType)).detail).toMatch(/unknown type "executable"/);
    const badJson = await makeZip({ 'manifest.json': '{' });
    expect((await uploadBundle(badJson)).detail).toBe('the bundle manifest.json is not valid JSON');
  });

  it('says error when the chunks do not make the checksum', async () => {
    const a = Buffer.from('part one');
    expect((await uploadChunks([a])).status).toBe(200);
    const r = await post('/api/0/organizations/acme/artifactbundle/assemble/', JSON.stringify({ checksum: 'f'.repeat(40), chunks: [sha1(a)], projects: ['web'] }), 'application/json');
    expect(r.json).toMatchObject({ state: 'error', detail: expect.stringContaining(`not the checksum ${'f'.repeat(40)}`) });
  });

  it('refuses bundles over SOURCEMAP_MAX_BUNDLE_BYTES (zipped or unzipped) and projects over SOURCEMAP_MAX_PROJECT_BYTES', async () => {
    // a zip bomb: small zipped, 5 chunks' worth unzipped
    const bomb = await makeZip(bundleFiles([{ path: 'big.map', type: 'source_map', url: '~/big.map', data: ' '.repeat(5 * CHUNK) }]));
    expect(bomb.length).toBeLessThan(CHUNK);
    expect((await uploadBundle(bomb)).detail).toMatch(/unzips to \d+ bytes, over SOURCEMAP_MAX_BUNDLE_BYTES/);
    // too many chunks for the limit: refused before anything is read
    const r = await post('/api/0/organizations/acme/artifactbundle/assemble/', JSON.stringify({ checksum: 'a'.repeat(40), chunks: Array(5).fill('b'.repeat(40)), projects: ['web'] }), 'application/json');
    expect(r.status).toBe(413);
    // three bundles of ~2.5 chunks: the third passes the project's 6 chunks
    const big = (n: number) => makeZip(bundleFiles([{ path: `m${n}`, type: 'source_map', url: `~/m${n}.map`, data: String(n).repeat(Math.floor(2.5 * CHUNK)) }]));
    expect((await uploadBundle(await big(1))).state).toBe('ok');
    expect((await uploadBundle(await big(2))).state).toBe('ok');
    const third = await uploadBundle(await big(3));
    expect(third).toMatchObject({ state: 'error', detail: expect.stringContaining('over SOURCEMAP_MAX_PROJECT_BYTES') });
  });

  it('answers 4xx for a bad request: unknown project, bad checksum, no projects', async () => {
    const bad = (body: unknown) => post('/api/0/organizations/acme/artifactbundle/assemble/', JSON.stringify(body), 'application/json');
    expect((await bad({ checksum: 'a'.repeat(40), chunks: [], projects: ['nope'] })).status).toBe(404);
    expect((await bad({ checksum: 'xyz', chunks: [], projects: ['web'] })).json.detail).toMatch(/checksum must be/);
    expect((await bad({ checksum: 'a'.repeat(40), chunks: [], projects: [] })).json.detail).toMatch(/projects must be/);
    expect((await bad({ checksum: 'a'.repeat(40), chunks: [1], projects: ['web'] })).status).toBe(400);
  });
});

describe('releases/{version}/files/ (the flow before bundles)', () => {
  function fileForm(name: string, data: string, fields: [string, string][] = []): { body: Buffer; type: string } {
    const boundary = 'rf' + Math.random().toString(16).slice(2);
    const parts = [`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="upload"\r\nContent-Type: application/octet-stream\r\n\r\n${data}\r\n`];
    for (const [k, v] of [['name', name], ...fields]) parts.push(`--${boundary}\r\nContent-Disposition: form-data; name="${k}"\r\n\r\n${v}\r\n`);
    return { body: Buffer.from(parts.join('') + `--${boundary}--\r\n`), type: `multipart/form-data; boundary=${boundary}` };
  }
  const path = '/api/0/projects/acme/web/releases/web@9/files/';

  it('stores one file per request, lists them, refuses a second file of the same name', async () => {
    const js = fileForm('~/static/legacy.min.js', 'function a(){throw 1}', [['dist', 'd9'], ['header', 'Sourcemap: legacy.min.js.map']]);
    const r = await post(path, js.body, js.type);
    expect(r.status).toBe(201);
    expect(r.json).toMatchObject({ name: '~/static/legacy.min.js', dist: 'd9', headers: { Sourcemap: 'legacy.min.js.map' }, size: 21, sha1: sha1(Buffer.from('function a(){throw 1}')), id: expect.any(String), dateCreated: expect.any(String) });
    const map = fileForm('~/static/legacy.min.js.map', MAP, [['dist', 'd9']]);
    expect((await post(path, map.body, map.type)).status).toBe(201);
    const again = await post(path, js.body, js.type);
    expect(again.status).toBe(409);
    expect(again.json.detail).toBe('A file matching this name already exists for the given release');
    const list = await (await fetch(server.url + path, { headers: { authorization: `Bearer ${token}` } })).json();
    expect(list.map((f: { name: string }) => f.name)).toEqual(['~/static/legacy.min.js', '~/static/legacy.min.js.map']);
    const { rows } = await db.pool.query(`SELECT f.kind FROM artifact_file f JOIN artifact_bundle b ON b.id = f.bundle_id WHERE b.release = 'web@9' ORDER BY f.url`);
    expect(rows.map((x) => x.kind)).toEqual(['minified_source', 'source_map']);
  });

  it('refuses a request without a file, a bad header, an unknown project', async () => {
    const noFile = await post(path, '--x--\r\n', 'multipart/form-data; boundary=x');
    expect(noFile.status).toBe(400);
    const badHeader = fileForm('~/a.js', 'x', [['header', 'no colon here']]);
    expect((await post(path, badHeader.body, badHeader.type)).json.detail).toMatch(/is not "Name: value"/);
    const f = fileForm('~/a.js', 'x');
    expect((await post('/api/0/projects/acme/nope/releases/1/files/', f.body, f.type)).status).toBe(404);
  });
});
