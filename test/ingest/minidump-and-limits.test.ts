import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { SDK_PAYLOADS } from '../fixtures/corpus.js';
import { startApp, type TestApp } from '../helpers/app.js';
import { cli } from '../helpers/server.js';

// A crash reporter's multipart minidump upload (Crashpad / Breakpad: the dump in
// `upload_file_minidump`, the event's fields in a `sentry` JSON field, other files beside), read back
// through the API as a user sees it; and the documented refusals of MAX_ATTACHMENT_BYTES (an
// envelope's attachment item, a minidump upload) and MAX_SESSION_ITEMS, each naming its setting.

const DUMP = readFileSync(join(SDK_PAYLOADS, 'native', 'sentry_native_minidump.dmp'));
// above the 42 KB fixture dump, below the 60 KB bodies refused here
const MAX_ATTACHMENT_BYTES = 50_000;

let app: TestApp;
let token: string;

async function api(path: string): Promise<Response> {
  return fetch(`${app.server.url}/api/0${path}`, { headers: { authorization: `Bearer ${token}` } });
}

async function eventually<T>(what: string, f: () => Promise<T | null>): Promise<T> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const v = await f();
    if (v !== null) return v;
    if (Date.now() > deadline) throw new Error(`${what}: not there after 30 s`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function envelope(items: [Record<string, unknown>, Buffer | string][]): Buffer {
  const parts: Buffer[] = [Buffer.from(JSON.stringify({ event_id: 'ab'.repeat(16) }) + '\n')];
  for (const [h, p] of items) {
    const b = Buffer.from(p);
    parts.push(Buffer.from(JSON.stringify({ ...h, length: b.length }) + '\n'), b, Buffer.from('\n'));
  }
  return Buffer.concat(parts);
}

async function post(path: string, body: Buffer | FormData, headers: Record<string, string> = {}): Promise<{ status: number; text: string; detail?: string }> {
  const r = await fetch(`${app.server.url}/api/${app.projectId}/${path}/?sentry_key=${app.key}`, { method: 'POST', body, headers });
  const text = await r.text();
  let detail: string | undefined;
  try {
    detail = (JSON.parse(text) as { detail?: string }).detail;
  } catch {
    /* not JSON: an accepted minidump answers its event id */
  }
  return { status: r.status, text, detail };
}

beforeAll(async () => {
  app = await startApp('native', { ORGANIZATION_SLUG: 'crash-cache', MAX_ATTACHMENT_BYTES: String(MAX_ATTACHMENT_BYTES), MAX_SESSION_ITEMS: '3' });
  token = /^([0-9a-f]{64})$/m.exec(await cli(['token', 'create', '--name', 'dumps'], { DATABASE_URL: app.db.url }))![1]!;
});
afterAll(async () => {
  await app?.close();
});

it('a multipart minidump upload becomes an event with the dump and the other files as attachments', async () => {
  const form = new FormData();
  form.append('sentry', JSON.stringify({ release: 'native-app@2.1.0', environment: 'production', tags: { shard: 'eu-3' }, user: { id: 'u-42' } }));
  form.append('upload_file_minidump', new Blob([DUMP]), 'crash.dmp');
  form.append('log', new Blob(['last log line\n']), 'app.log');
  const r = await post('minidump', form);
  expect(r.status, r.text).toBe(200);
  expect(r.text).toMatch(/^[0-9a-f]{32}$/);
  const eventId = r.text;

  const base = `/projects/crash-cache/native/events/${eventId}/`;
  const ev = await eventually('event', async () => {
    const e = await api(base);
    return e.status === 200 ? ((await e.json()) as Record<string, any>) : null;
  });
  expect(ev).toMatchObject({ platform: 'native', release: expect.objectContaining({ version: 'native-app@2.1.0' }), environment: 'production', user: expect.objectContaining({ id: 'u-42' }) });
  expect(ev.tags).toEqual(expect.arrayContaining([{ key: 'shard', value: 'eu-3' }, { key: 'level', value: 'fatal' }]));
  expect(ev.metadata).toMatchObject({ value: 'Unsymbolicated minidump crash' });
  expect(ev.entries.find((e: { type: string }) => e.type === 'exception').data.values[0]).toMatchObject({ type: 'Minidump', mechanism: { type: 'minidump', handled: false } });

  const list = await eventually('attachments', async () => {
    const a = await api(`${base}attachments/`);
    const l = a.status === 200 ? ((await a.json()) as { id: string; name: string; type: string; size: number }[]) : [];
    return l.length === 2 ? l : null;
  });
  const byName = Object.fromEntries(list.map((a) => [a.name, a]));
  expect(byName['crash.dmp']).toMatchObject({ type: 'event.minidump', size: DUMP.length });
  expect(byName['app.log']).toMatchObject({ type: 'event.attachment', size: 14 });
  const bytes = Buffer.from(await (await api(`${base}attachments/${byName['crash.dmp']!.id}/?download=1`)).arrayBuffer());
  expect(Buffer.compare(bytes, DUMP)).toBe(0);
});

it('MAX_ATTACHMENT_BYTES refuses a larger attachment item and a larger minidump, naming the setting', async () => {
  const under = await post('envelope', envelope([[{ type: 'attachment', filename: 'a.bin' }, Buffer.alloc(MAX_ATTACHMENT_BYTES, 97)]]));
  expect(under.status, under.text).toBe(200);
  const over = await post('envelope', envelope([[{ type: 'attachment', filename: 'a.bin' }, Buffer.alloc(MAX_ATTACHMENT_BYTES + 1, 97)]]));
  expect(over.status).toBe(413);
  expect(over.detail).toBe(`item 1 (attachment) exceeds MAX_ATTACHMENT_BYTES (${MAX_ATTACHMENT_BYTES} bytes)`);

  const dump = Buffer.concat([Buffer.from('MDMP'), Buffer.alloc(MAX_ATTACHMENT_BYTES + 10_000, 1)]);
  const raw = await post('minidump', dump, { 'content-type': 'application/octet-stream' });
  expect(raw.status).toBe(413);
  expect(raw.detail).toMatch(/MAX_ATTACHMENT_BYTES/);
  const form = new FormData();
  form.append('upload_file_minidump', new Blob([dump]), 'big.dmp');
  const multipart = await post('minidump', form);
  expect(multipart.status).toBe(413);
  expect(multipart.detail).toMatch(/MAX_ATTACHMENT_BYTES/);
});

it('MAX_SESSION_ITEMS refuses an envelope with more session items, naming the setting', async () => {
  const session = (n: number) => [{ type: 'session' }, JSON.stringify({ sid: `${n}`.padStart(32, '0'), init: true, started: new Date().toISOString(), status: 'ok', attrs: { release: 'native-app@2.1.0' } })] as [Record<string, unknown>, string];
  const three = await post('envelope', envelope([1, 2, 3].map(session)));
  expect(three.status, three.text).toBe(200);
  const four = await post('envelope', envelope([1, 2, 3, 4].map(session)));
  expect(four.status).toBe(413);
  expect(four.detail).toBe('the envelope has more than MAX_SESSION_ITEMS (3) session items');
});
