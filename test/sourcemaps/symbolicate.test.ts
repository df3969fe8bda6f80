import { createHash } from 'node:crypto';
import { transform } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.js';
import { normalizeEvent, type NormalizedEvent } from '../../src/protocol/event.js';
import { assembleBundle } from '../../src/sourcemaps/assemble.js';
import { ParsedCache, parseMap } from '../../src/sourcemaps/cache.js';
import { Symbolicator, urlCandidates } from '../../src/sourcemaps/resolve.js';
import { insertChunks, pruneSourcemaps, storeReleaseFile } from '../../src/sourcemaps/store.js';
import { transaction } from '../../src/storage/transaction.js';
import { filenameOf, resolveSourceUrl } from '../../src/sourcemaps/symbolicate.js';
import { freshDatabase, type TestDatabase } from '../helpers/db.js';
import { digestBatch } from '../../src/digest/batch.js';
import { DimCache } from '../../src/digest/dims.js';
import { enqueue } from '../digest/archive.js';
import { drainQueue, resetDigest } from '../../src/digest/ruminate.js';
import { runRetentionPass } from '../../src/archive/retention/pass.js';
import { bundleFiles, makeZip } from './zip.js';

// Symbolication against uploaded bundles in a real database, and each way it can fail: the failure
// is recorded in the event's `errors` (Sentry's processing errors) and the frame stays exactly as sent.

const SOURCE = `export function outer(n) {
  return inner(n * 2);
}

function inner(value) {
  if (value > 1) {
    throw new Error('boom ' + value);
  }
  return value;
}
`;

let db: TestDatabase;
let projectId: number;
let min: { code: string; map: string };
/** 1-based line and column of the `throw` and of the `inner(` call in the minified code. */
let throwAt: { line: number; col: number };
let callAt: { line: number; col: number };
let innerName: string;
let outerName: string;

function position(code: string, index: number): { line: number; col: number } {
  const before = code.slice(0, index);
  const line = before.split('\n').length;
  return { line, col: index - before.lastIndexOf('\n') };
}

async function upload(files: Parameters<typeof bundleFiles>[0], release = '', dist = '', project = projectId): Promise<{ state: string; detail: string | null }> {
  const zip = await makeZip(bundleFiles(files));
  await insertChunks(db.pool, [{ sha1: createHash('sha1').update(zip).digest(), data: zip }]);
  const config = loadConfig({ DATABASE_URL: db.url }, '/nonexistent');
  return assembleBundle(db.pool, config, [project], { checksum: createHash('sha1').update(zip).digest(), chunks: [createHash('sha1').update(zip).digest()], release, dist });
}

function event(frames: Record<string, unknown>[], extra: Record<string, unknown> = {}): NormalizedEvent {
  return normalizeEvent({ platform: 'javascript', exception: { values: [{ type: 'Error', value: 'boom 6', stacktrace: { frames } }] }, ...extra }, { receivedAt: new Date(), fallbackId: () => 'a'.repeat(32) });
}

const frames = (url: string) => [
  { abs_path: url, filename: url, function: outerName, lineno: callAt.line, colno: callAt.col, in_app: true },
  { abs_path: url, filename: url, function: innerName, lineno: throwAt.line, colno: throwAt.col, in_app: true },
];

const framesOf = (ev: NormalizedEvent) => (ev.exception as any).values[0].stacktrace.frames;
/** The frames as the event arrived (normalized, nothing applied). */
const sent = (url: string, extra: Record<string, unknown> = {}) => framesOf(event(frames(url), extra));

async function symbolicated(ev: NormalizedEvent, s = new Symbolicator(1 << 20)): Promise<NormalizedEvent> {
  await s.symbolicate(db.pool, [{ projectId, ev }]);
  return ev;
}

beforeAll(async () => {
  db = await freshDatabase();
  projectId = Number((await db.pool.query(`INSERT INTO project (slug, name, platform) VALUES ('web', 'web', 'javascript') RETURNING id`)).rows[0].id);
  const out = await transform(SOURCE, { minify: true, sourcemap: 'external', sourcefile: 'src/util.js', format: 'esm' });
  min = { code: out.code, map: out.map };
  throwAt = position(min.code, min.code.indexOf('throw'));
  const m = /function (\w+)\((\w+)\)\{return (\w+)\(/.exec(min.code)!;
  outerName = m[1]!;
  innerName = m[3]!;
  callAt = position(min.code, min.code.indexOf(`${innerName}(`, m.index + 10));
  expect(innerName).not.toBe('inner');
});
afterAll(async () => {
  await db?.drop();
});

describe('matching by release, dist and URL', () => {
  it('maps frames of http://host/static/app.min.js through ~/static/app.min.js and its map', async () => {
    expect((await upload([
      { path: 'a/app.min.js', type: 'minified_source', url: '~/static/app.min.js', headers: { Sourcemap: 'app.min.js.map' }, data: min.code },
      { path: 'a/app.min.js.map', type: 'source_map', url: '~/static/app.min.js.map', data: min.map },
    ], 'web@1', 'd1')).state).toBe('ok');
    const ev = await symbolicated(event(frames('http://example.com/static/app.min.js?v=3'), { release: 'web@1', dist: 'd1' }));
    const [outer, inner] = framesOf(ev);
    expect(inner).toMatchObject({ abs_path: '~/static/src/util.js', filename: 'static/src/util.js', function: 'inner', lineno: 7, in_app: true, context_line: "    throw new Error('boom ' + value);" });
    expect(inner.pre_context).toEqual(['  return inner(n * 2);', '}', '', 'function inner(value) {', '  if (value > 1) {']);
    expect(inner.post_context).toEqual(['  }', '  return value;', '}', '']);
    expect(inner.data).toMatchObject({ sourcemap: '~/static/app.min.js.map', resolved_with: 'release' });
    expect(outer).toMatchObject({ function: 'outer', lineno: 2 });
    expect((ev.exception as any).values[0].raw_stacktrace.frames).toEqual(sent('http://example.com/static/app.min.js?v=3'));
    expect(ev.errors).toBeUndefined();
    expect(ev.culprit).toBe('inner(static/src/util.js)');
    expect(ev.metadata).toMatchObject({ filename: 'static/src/util.js', function: 'inner' });
  });

  it('leaves a frame of another dist exactly as sent, without an error (that release+dist uploaded nothing)', async () => {
    const ev = await symbolicated(event(frames('http://example.com/static/app.min.js'), { release: 'web@1', dist: 'other' }));
    expect(framesOf(ev)).toEqual(sent('http://example.com/static/app.min.js'));
    expect(ev.errors).toBeUndefined();
  });

  it('records a missing file of a release that has uploads, and a minified file without its map', async () => {
    const ev = await symbolicated(event(frames('http://example.com/static/vendor.min.js'), { release: 'web@1', dist: 'd1' }));
    expect(framesOf(ev)).toEqual(sent('http://example.com/static/vendor.min.js'));
    expect(ev.errors).toEqual([{ type: 'js_no_source', url: 'http://example.com/static/vendor.min.js', reason: 'no file with this URL was uploaded for release web@1' }]);
    expect((await upload([{ path: 'lonely.js', type: 'minified_source', url: '~/lonely.js', data: min.code }], 'web@2')).state).toBe('ok');
    const ev2 = await symbolicated(event(frames('https://cdn.example.com/lonely.js'), { release: 'web@2' }));
    expect(framesOf(ev2)).toEqual(sent('https://cdn.example.com/lonely.js'));
    expect(ev2.errors).toEqual([{ type: 'js_no_source', url: '~/lonely.js.map', reason: 'no source map uploaded for ~/lonely.js in release web@2' }]);
  });
});

describe('matching by debug id', () => {
  const id = '5b1c6f3e-2d4a-4e8f-9a7b-0c1d2e3f4a5b';
  const meta = (file: string, debugId = id) => ({ debug_meta: { images: [{ type: 'sourcemap', code_file: file, debug_id: debugId }] } });

  it('maps by debug id whatever the URL and release', async () => {
    expect((await upload([
      { path: 'b/x.js', type: 'minified_source', url: '~/x.js', headers: { 'debug-id': id }, data: min.code },
      { path: 'b/x.js.map', type: 'source_map', url: '~/x.js.map', headers: { 'debug-id': id }, data: min.map },
    ])).state).toBe('ok');
    const ev = await symbolicated(event(frames('/srv/app/dist/x.js'), { platform: 'node', ...meta('/srv/app/dist/x.js') }));
    expect(framesOf(ev)[1]).toMatchObject({ function: 'inner', lineno: 7, filename: 'src/util.js', data: { resolved_with: 'debug-id', sourcemap: '~/x.js.map' } });
  });

  it('records a debug id no bundle has; the frame stays as sent', async () => {
    const other = '00000000-1111-2222-3333-444444444444';
    const ev = await symbolicated(event(frames('/srv/app/dist/y.js'), meta('/srv/app/dist/y.js', other)));
    expect(framesOf(ev)).toEqual(sent('/srv/app/dist/y.js'));
    expect((ev.exception as any).values[0].raw_stacktrace).toBeUndefined();
    expect(ev.errors).toEqual([{ type: 'js_no_source', url: '/srv/app/dist/y.js', debug_id: other, reason: 'no uploaded source map has this debug id' }]);
  });

  it('records a map that does not parse', async () => {
    const bad = '11111111-2222-3333-4444-555555555555';
    expect((await upload([{ path: 'c/bad.js.map', type: 'source_map', url: '~/bad.js.map', headers: { 'debug-id': bad }, data: '{"version":3,"mappings":' }])).state).toBe('ok');
    const ev = await symbolicated(event(frames('/srv/app/bad.js'), meta('/srv/app/bad.js', bad)));
    expect(framesOf(ev)).toEqual(sent('/srv/app/bad.js'));
    expect(ev.errors).toEqual([{ type: 'js_invalid_source', url: '~/bad.js.map', reason: 'the source map cannot be parsed: not valid JSON' }]);
  });

  it('records a line past the end of the map', async () => {
    const past = [{ abs_path: '/srv/app/dist/x.js', function: 'f', lineno: 500, colno: 3 }];
    const ev = await symbolicated(event(past, meta('/srv/app/dist/x.js')));
    expect(framesOf(ev)).toEqual(framesOf(event(past)));
    expect(ev.errors).toEqual([{ type: 'js_invalid_source_location', url: '/srv/app/dist/x.js', line: 500, column: 3, sourcemap: '~/x.js.map' }]);
  });
});

describe('events that are not for source maps', () => {
  it('leaves other platforms and JavaScript without release or debug id untouched', async () => {
    const py = event(frames('/srv/app/dist/x.js'), { platform: 'python', release: 'web@1' });
    const before = JSON.stringify(py);
    await symbolicated(py);
    expect(JSON.stringify(py)).toBe(before);
    const bare = event(frames('http://example.com/static/app.min.js'));
    const b = JSON.stringify(bare);
    await symbolicated(bare);
    expect(JSON.stringify(bare)).toBe(b);
  });
});

describe('pure parts', () => {
  it('resolves sources against the map URL and names files as Sentry shows them', () => {
    expect(resolveSourceUrl('~/dist/app.js.map', '../src/a.js')).toBe('~/src/a.js');
    expect(resolveSourceUrl('~/app.js.map', '../../../x/src/a.js')).toBe('~/x/src/a.js');
    expect(resolveSourceUrl('https://h/static/app.js.map', '../src/a.js')).toBe('https://h/src/a.js');
    expect(resolveSourceUrl('~/app.js.map', 'webpack://shop/./src/a.js')).toBe('webpack://shop/./src/a.js');
    expect(filenameOf('~/src/a.js')).toBe('src/a.js');
    expect(filenameOf('https://h/src/a.js')).toBe('/src/a.js');
    expect(filenameOf('webpack://shop/./src/a.js')).toBe('./src/a.js');
    expect(urlCandidates('http://h/static/app.js?v=1')).toEqual(['http://h/static/app.js?v=1', 'http://h/static/app.js', '~/static/app.js?v=1', '~/static/app.js']);
    expect(urlCandidates('/srv/app.js')).toEqual(['/srv/app.js', '~/srv/app.js']);
  });

  it('keeps parsed maps within its byte bound, least recently used out first', () => {
    const c = new ParsedCache(1000);
    const m = parseMap(Buffer.from(min.map));
    c.put('a', m, 200);
    c.put('b', m, 200);
    expect(c.get('a')).toBe(m); // a is now the most recent
    c.put('c', m, 200);
    expect(c.bytes).toBe(800);
    expect(c.get('b')).toBeUndefined();
    expect(c.get('a')).toBe(m);
    c.put('huge', m, 600); // larger than the whole bound: not kept
    expect(c.get('huge')).toBeUndefined();
    expect(parseMap(Buffer.from('{"version":2}'))).toEqual({ kind: 'bad', reason: 'not a version 3 source map' });
  });
});

describe('retention', () => {
  it('deletes bundles unused for the retention period, old chunks, and contents no bundle holds any more', async () => {
    const keep = '22222222-3333-4444-5555-666666666666';
    const go = '33333333-4444-5555-6666-777777777777';
    await upload([{ path: 'k.map', type: 'source_map', url: '~/k.js.map', headers: { 'debug-id': keep }, data: min.map }]);
    await upload([
      { path: 'g.map', type: 'source_map', url: '~/g.js.map', headers: { 'debug-id': go }, data: min.map },
      { path: 'only-here.js', type: 'minified_source', url: '~/g.js', data: '/* only in the old bundle */' },
    ]);
    await insertChunks(db.pool, [{ sha1: Buffer.alloc(20, 9), data: Buffer.from('stale') }]);
    await db.pool.query(`UPDATE upload_chunk SET created_at = now() - interval '2 days'`);
    await db.pool.query(`UPDATE artifact_bundle SET last_used_at = now() - interval '91 days' WHERE id = (SELECT bundle_id FROM artifact_file WHERE debug_id = $1)`, [go]);
    const n = await pruneSourcemaps(db.pool, 90);
    expect(n).toMatchObject({ bundles: 1, chunks: 1, blobs: 1 });
    const ids = (await db.pool.query('SELECT debug_id::text FROM artifact_file WHERE debug_id IS NOT NULL')).rows.map((r) => r.debug_id);
    expect(ids).toContain(keep);
    expect(ids).not.toContain(go);
    // the map's contents are shared with the bundles still there: kept
    const ev = await symbolicated(event(frames('/x/k.js'), { debug_meta: { images: [{ type: 'sourcemap', code_file: '/x/k.js', debug_id: keep }] } }));
    expect(framesOf(ev)[1]).toMatchObject({ lineno: 7, filename: 'src/util.js' });
  });

  it('is a retention kind: a pass deletes an unused bundle and counts it for its project', async () => {
    const old = '44444444-5555-6666-7777-888888888888';
    await upload([{ path: 'o.map', type: 'source_map', url: '~/o.js.map', headers: { 'debug-id': old }, data: min.map }]);
    await db.pool.query(`UPDATE artifact_bundle SET last_used_at = now() - interval '31 days' WHERE id = (SELECT bundle_id FROM artifact_file WHERE debug_id = $1)`, [old]);
    const r = (await runRetentionPass(db.pool, { defaultDays: 90, batchSize: 100, lowWaterPercent: 85, sourcemapDays: 30 }))!;
    expect(r.deleted.filter((d) => d.kind === 'sourcemaps' && d.projectId === projectId)).toEqual([{ kind: 'sourcemaps', projectId, events: 0, payloads: 0, payloadBytes: 0, rows: 1 }]);
    const { rows } = await db.pool.query(`SELECT rows::int FROM retention_deletion WHERE kind = 'sourcemaps' AND project_id = $1`, [projectId]);
    expect(rows).toEqual([{ rows: 1 }]);
    expect((await db.pool.query('SELECT count(*)::int AS n FROM artifact_file WHERE debug_id = $1', [old])).rows[0].n).toBe(0);
  });
});

describe('untrusted paths', () => {
  it('finds URL candidates in linear time, whatever the path holds', () => {
    // A quadratic pattern on these would take minutes (past the test's timeout), a linear one milliseconds.
    const nasty = 'http://h/' + '?'.repeat(200_000);
    expect(urlCandidates(nasty)).toEqual([nasty, 'http://h/', '~/' + '?'.repeat(200_000), '~/']);
    urlCandidates('/' + '?#'.repeat(100_000));
    filenameOf('webpack://' + '/'.repeat(200_000));
    resolveSourceUrl('~/a.map', '../'.repeat(50_000) + 'x.js');
    expect(urlCandidates('http://h/a.js?x#y')).toEqual(['http://h/a.js?x#y', 'http://h/a.js', '~/a.js?x', '~/a.js']);
  });
});

describe('the digest without prepare threads', () => {
  it('symbolicates before grouping: two builds minified differently make one issue', async () => {
    const other = await transform(SOURCE, { minify: true, minifyWhitespace: false, sourcemap: 'external', sourcefile: 'src/util.js', format: 'esm', banner: '/* second build */' });
    const at = (code: string, index: number) => position(code, index);
    const ids = ['aaaaaaaa-0000-4000-8000-000000000001', 'aaaaaaaa-0000-4000-8000-000000000002'];
    await upload([{ path: 'd1.map', type: 'source_map', url: '~/one.js.map', headers: { 'debug-id': ids[0]! }, data: min.map }, { path: 'd1.js', type: 'minified_source', url: '~/one.js', headers: { 'debug-id': ids[0]! }, data: min.code }]);
    await upload([{ path: 'd2.map', type: 'source_map', url: '~/two.js.map', headers: { 'debug-id': ids[1]! }, data: other.map }, { path: 'd2.js', type: 'minified_source', url: '~/two.js', headers: { 'debug-id': ids[1]! }, data: other.code }]);
    const build = (code: string, file: string, debugId: string, n: number) => {
      const t = at(code, code.indexOf('throw'));
      const fn = /function (\w+)\(\w+\)\{?\s*if/.exec(code)?.[1] ?? 'x';
      return { kind: 'store' as const, body: Buffer.from(JSON.stringify({
        event_id: String(n).repeat(32).slice(0, 32), platform: 'node', release: `web@${n}`,
        debug_meta: { images: [{ type: 'sourcemap', code_file: file, debug_id: debugId }] },
        exception: { values: [{ type: 'Error', value: 'boom 6', stacktrace: { frames: [{ filename: file, function: fn, lineno: t.line, colno: t.col, in_app: true }] } }] },
      })) };
    };
    const one = build(min.code, '/srv/one.js', ids[0]!, 1);
    const two = build(other.code, '/srv/two.js', ids[1]!, 2);
    const where = (p: { body: Buffer }) => { const f = JSON.parse(p.body.toString()).exception.values[0].stacktrace.frames[0]; return `${f.function} ${f.lineno}:${f.colno}`; };
    expect(where(one)).not.toBe(where(two));
    await enqueue(db.pool, projectId, [one, two]);
    const client = await db.pool.connect();
    try {
      while ((await digestBatch(client, { batchSize: 10, maxBytes: 1 << 20, cache: new DimCache(), symbolicator: new Symbolicator(1 << 20) })).claimed);
    } finally {
      client.release();
    }
    const { rows } = await db.pool.query('SELECT culprit, metadata->>$2 AS fn, (SELECT count(*)::int FROM report r WHERE r.issue_id = i.id) AS n FROM issue i WHERE project_id = $1', [projectId, 'function']);
    expect(rows).toEqual([{ culprit: 'inner(src/util.js)', fn: 'inner', n: 2 }]);
    // ruminate's own digest (crash-cache-cli ruminate drains the queue itself) applies the maps too
    await resetDigest(db.pool);
    await drainQueue(db.pool, { batchSize: 10, maxBytes: 1 << 20 });
    const again = await db.pool.query('SELECT culprit, (SELECT count(*)::int FROM report r WHERE r.issue_id = i.id) AS n FROM issue i WHERE project_id = $1', [projectId]);
    expect(again.rows).toEqual([{ culprit: 'inner(src/util.js)', n: 2 }]);
  });
});

describe('organization release files (organizations/{org}/releases/{version}/files/)', () => {
  it('symbolicate the events of every project with that release, and retention deletes them under no project', async () => {
    const other = Number((await db.pool.query(`INSERT INTO project (slug, name, platform) VALUES ('admin', 'admin', 'javascript') RETURNING id`)).rows[0].id);
    const file = (url: string, kind: string, text: string) => {
      const data = Buffer.from(text);
      return { path: url, kind, url, debugId: null, sourcemap: null, sha1: createHash('sha1').update(data).digest(), data };
    };
    await transaction(db.pool, async (c) => {
      for (const f of [file('~/org/app.js', 'minified_source', min.code), file('~/org/app.js.map', 'source_map', min.map)]) {
        const key = createHash('sha1').update(`org ${f.url}`).digest();
        expect(await storeReleaseFile(c, null, key, 'org@1', '', { files: [f], size: f.data.length }, 1 << 30)).toBeNull();
      }
    });
    expect((await db.pool.query('SELECT count(*)::int AS n FROM artifact_file WHERE project_id IS NULL')).rows[0].n).toBe(2);
    for (const p of [projectId, other]) {
      const ev = event(frames('https://example.com/org/app.js'), { release: 'org@1' });
      await new Symbolicator(1 << 20).symbolicate(db.pool, [{ projectId: p, ev }]);
      expect(framesOf(ev)[1], `project ${p}`).toMatchObject({ lineno: 7, abs_path: '~/org/src/util.js' });
      expect(ev.errors ?? []).toEqual([]);
    }
    // another release: not theirs, the frame stays as sent
    const ev = await symbolicated(event(frames('https://example.com/org/app.js'), { release: 'org@2' }));
    expect(framesOf(ev)).toEqual(sent('https://example.com/org/app.js', { release: 'org@2' }));

    await db.pool.query(`UPDATE artifact_bundle SET last_used_at = now() - interval '31 days' WHERE project_id IS NULL`);
    const r = (await runRetentionPass(db.pool, { defaultDays: 90, batchSize: 100, lowWaterPercent: 85, sourcemapDays: 30 }))!;
    expect(r.deleted.filter((d) => d.kind === 'sourcemaps' && !(d.projectId > 0))).toEqual([]);
    expect((await db.pool.query('SELECT count(*)::int AS n FROM artifact_bundle WHERE project_id IS NULL')).rows[0].n).toBe(0);
  });
});

describe('a project\'s first upload', () => {
  it('is used by the next batch of the same symbolicator (no "this project has no bundles" is remembered)', async () => {
    const fresh = Number((await db.pool.query(`INSERT INTO project (slug, name, platform) VALUES ('fresh', 'fresh', 'javascript') RETURNING id`)).rows[0].id);
    const id = '55555555-6666-7777-8888-999999999999';
    const extra = { debug_meta: { images: [{ type: 'sourcemap', code_file: '/x/f.js', debug_id: id }] } };
    const s = new Symbolicator(1 << 20);
    const before = event(frames('/x/f.js'), extra);
    await s.symbolicate(db.pool, [{ projectId: fresh, ev: before }]);
    expect(framesOf(before)).toEqual(sent('/x/f.js', extra));
    expect((await upload([{ path: 'f.map', type: 'source_map', url: '~/f.js.map', headers: { 'debug-id': id }, data: min.map }], '', '', fresh)).state).toBe('ok');
    const after = event(frames('/x/f.js'), extra);
    await s.symbolicate(db.pool, [{ projectId: fresh, ev: after }]);
    expect(framesOf(after)[1]).toMatchObject({ lineno: 7, filename: 'src/util.js' });
  });
});
