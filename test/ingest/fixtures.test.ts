import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshDatabase, type TestDatabase } from '../helpers/db.js';
import { startServer, type RunningServer } from '../helpers/server.js';
import { createProject } from '../../src/storage/projects.js';
import { SDK_PAYLOADS } from '../fixtures/corpus.js';
import { send } from './http.js';
import { rawOf, storedBytes } from './stored.js';

// Every payload of the SDK corpus (test/fixtures/sdk-payloads, see its MANIFEST.md) sent the way
// its SDK sends it — the recorded request (path, headers, encoding) where a *.request.json sidecar
// exists — and accepted; the documented broken ones are listed below with what happens to them.

const ROOT = SDK_PAYLOADS;
// The captures used this key; the project gets it too so recorded URLs and X-Sentry-Auth headers work as-is.
const KEY = '0123456789abcdef0123456789abcdef';

/** Broken on purpose (MANIFEST "Known quirks"): what ingest does with them, and why. */
const BROKEN: Record<string, { status: number; detail?: RegExp; why: string }> = {
  'android/sentry_java_session_bad_length.envelope': {
    status: 400,
    detail: /item 1 \(session\).*not a newline/,
    why: 'declares length 85 but the payload is longer: a framing fault ingest must refuse',
  },
  'android/sentry_java_event_attachments.envelope': {
    status: 200,
    why: 'the framing is sound; only the event payload is not valid JSON, which the digest records as invalid',
  },
};

interface Entry {
  file: string;
  kind: string;
}

function manifest(): Entry[] {
  const text = readFileSync(join(ROOT, 'MANIFEST.md'), 'utf8');
  const out: Entry[] = [];
  for (const line of text.split('\n')) {
    const m = /^\| `([^`]+)` \|/.exec(line);
    if (!m) continue;
    const cols = line.split(' | ');
    out.push({ file: m[1]!, kind: cols[5]!.trim() });
  }
  return out;
}

interface Sidecar {
  method: string;
  url: string;
  headers: Record<string, string>;
}

function sidecarFor(file: string): Sidecar | null {
  const base = file.replace(/\.gz$/, '').replace(/\.(envelope|json)$/, '');
  const p = join(ROOT, `${base}.request.json`);
  return existsSync(p) ? (JSON.parse(readFileSync(p, 'utf8')) as Sidecar) : null;
}

/** GlitchTip's [envelope header, item header, payload, ...] as real envelope framing. */
function fromJsonArray(arr: unknown[]): Buffer {
  const parts = [JSON.stringify(arr[0])];
  for (let i = 1; i + 1 < arr.length; i += 2) {
    const payload = Buffer.from(JSON.stringify(arr[i + 1]));
    parts.push(JSON.stringify({ ...(arr[i] as object), length: payload.length }), payload.toString('utf8'));
  }
  return Buffer.from(parts.join('\n') + '\n');
}

function wrapItem(type: string, payload: Buffer, extra: Record<string, unknown> = {}): Buffer {
  return Buffer.concat([Buffer.from(`{}\n${JSON.stringify({ type, length: payload.length, ...extra })}\n`), payload, Buffer.from('\n')]);
}

let db: TestDatabase;
let server: RunningServer;
let projectId: number;

beforeAll(async () => {
  db = await freshDatabase();
  projectId = (await createProject(db.pool, { name: 'fixtures', key: KEY })).project.id;
  server = await startServer({ DATABASE_URL: db.url, RATE_LIMIT_GLOBAL_PER_SEC: '0', RATE_LIMIT_PER_IP_PER_SEC: '0', RATE_LIMIT_PER_PROJECT_PER_SEC: '0' }, ['--no-worker']);
});
afterAll(async () => {
  await server?.stop();
  await db?.drop();
});

/** How the SDK that produced `e` sends it: [path+query, headers, body]. */
function request(e: Entry): [string, Record<string, string>, Buffer] {
  const bytes = readFileSync(join(ROOT, e.file));
  const gz = e.file.endsWith('.gz');
  const sidecar = sidecarFor(e.file);
  const query = `sentry_version=7&sentry_key=${KEY}`;
  const xAuth = { 'x-sentry-auth': `Sentry sentry_key=${KEY}, sentry_version=7, sentry_client=fixture/1.0` };
  let path: string;
  let headers: Record<string, string>;
  let body = bytes;
  if (sidecar) {
    path = sidecar.url.replace('/api/42/', `/api/${projectId}/`);
    headers = {};
    for (const [k, v] of Object.entries(sidecar.headers)) {
      if (['host', 'connection', 'content-length'].includes(k)) continue;
      // The decompressed twin of a .gz capture goes out uncompressed.
      if (k === 'content-encoding' && !gz) continue;
      headers[k] = v;
    }
    if (sidecar.headers['content-length'] || !headers['transfer-encoding']) headers['content-length'] = String(body.length);
  } else if (e.kind.startsWith('store-event')) {
    path = `/api/${projectId}/store/`;
    headers = { ...xAuth, 'content-type': 'application/json', ...(gz ? { 'content-encoding': 'gzip' } : {}) };
  } else if (e.kind === 'security-report body') {
    path = `/api/${projectId}/security/?sentry_key=${KEY}&sentry_release=web%401.0&sentry_environment=production`;
    headers = { 'content-type': 'application/csp-report', 'user-agent': 'Mozilla/5.0 (X11; Linux x86_64) Firefox/120.0' };
  } else if (e.kind.startsWith('minidump')) {
    path = `/api/${projectId}/minidump/?sentry_key=${KEY}`;
    headers = { 'content-type': 'application/octet-stream', 'user-agent': 'Crashpad/0.8.0' };
  } else {
    path = `/api/${projectId}/envelope/?${query}`;
    headers = { 'content-type': 'application/x-sentry-envelope', ...xAuth };
    if (e.kind === 'envelope-json-array') body = fromJsonArray(JSON.parse(bytes.toString('utf8')) as unknown[]);
    else if (e.kind === 'check_in payload') body = wrapItem('check_in', bytes);
    else if (e.kind === 'session payload') body = wrapItem('session', bytes);
    else if (e.kind === 'log payload') {
      const n = (JSON.parse(bytes.toString('utf8')) as { items: unknown[] }).items.length;
      body = wrapItem('log', bytes, { item_count: n, content_type: 'application/vnd.sentry.items.log+json' });
    } else if (e.kind === 'envelope') {
      // An SDK puts its own DSN in the envelope header: point the fixture's placeholder DSN at us.
      const nl = bytes.indexOf(0x0a);
      const header = JSON.parse(bytes.subarray(0, nl < 0 ? bytes.length : nl).toString('utf8')) as { dsn?: string };
      if (header.dsn) {
        header.dsn = `http://${KEY}@127.0.0.1:${server.port}/${projectId}`;
        body = Buffer.concat([Buffer.from(JSON.stringify(header)), nl < 0 ? Buffer.alloc(0) : bytes.subarray(nl)]);
      }
    } else if (!gz) throw new Error(`no way to send ${e.file} (${e.kind})`);
  }
  return [path, headers, body];
}

describe('SDK payload corpus', () => {
  const entries = manifest();

  it('lists 95 payloads', () => {
    expect(entries).toHaveLength(95);
    for (const e of entries) expect(existsSync(join(ROOT, e.file)), e.file).toBe(true);
  });

  it('accepts every payload the way its SDK sends it, except the documented broken ones', async () => {
    let accepted = 0;
    const distinct = new Set<string>();
    const failures: string[] = [];
    for (const e of entries) {
      const [path, headers, body] = request(e);
      const r = await send(`${server.url}${path}`, { body, headers });
      const expected = BROKEN[e.file] ?? { status: 200 };
      if (r.status !== expected.status || (expected.detail && !expected.detail.test(r.json?.detail ?? ''))) {
        failures.push(`${e.file} (${e.kind}) → ${r.status} ${r.text.slice(0, 200)}`);
        continue;
      }
      if (r.status !== 200) {
        expect(r.json.detail).toBeTruthy();
        continue;
      }
      accepted++;
      distinct.add(createHash('sha256').update(rawOf(body, headers['content-encoding'])).digest('hex'));
      if (/store|envelope/.test(path) && r.json && Object.keys(r.json).length) expect(r.json.id, e.file).toMatch(/^[0-9a-f]{32}$/);
      if (path.includes('/minidump/')) expect(r.text).toMatch(/^[0-9a-f]{32}$/);
    }
    expect(failures).toEqual([]);
    expect(accepted).toBe(entries.length - Object.values(BROKEN).filter((b) => b.status !== 200).length);
    // Every accepted payload is archived and queued once (no two fixtures are byte-identical as
    // stored: four are the same bytes sent plain and gzipped, and gzip bodies are kept as sent).
    const { rows } = await db.pool.query(`SELECT count(*)::int AS archived, (SELECT count(*) FROM queue)::int AS queued FROM archive`);
    expect(distinct.size).toBe(accepted - 4);
    expect(rows[0]).toEqual({ archived: accepted, queued: accepted });
    // Each stored row decompresses to exactly one of the payloads sent; most against a dictionary.
    const stored = (await db.pool.query(`SELECT project_id, encoding, payload, dict_id FROM archive`)).rows;
    const decoded = new Set<string>();
    for (const r of stored) decoded.add(createHash('sha256').update(await storedBytes(db.pool, r)).digest('hex'));
    expect([...decoded].sort()).toEqual([...distinct].sort());
    const dict = stored.filter((r) => r.encoding === 'deflate-dict').length;
    expect(dict).toBeGreaterThan(stored.filter((r) => r.encoding === 'br').length);
    const kinds = (await db.pool.query(`SELECT kind, count(*)::int AS n FROM archive GROUP BY kind ORDER BY kind`)).rows;
    expect(kinds.map((k) => k.kind)).toEqual(['envelope', 'minidump', 'security', 'store']);
  });
});
