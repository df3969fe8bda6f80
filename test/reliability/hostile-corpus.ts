import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib';
import { SDK_PAYLOADS } from '../fixtures/corpus.js';

// A generated corpus of malformed ingest requests, each of which must get a 4xx JSON answer. Seeded, so
// a failure names a reproducible case.

export interface HostileRequest {
  name: string;
  method: string;
  path: string;
  headers: Record<string, string>;
  body: Buffer;
}

function rng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

const FIXTURES = SDK_PAYLOADS;
const STORE_BODIES = [
  'python/python1910_store_zero_division.json',
  'javascript-browser/glitchtip_small_js_error.json',
  'go/bugsink_go_0.30.json',
  'java/bugsink_java_top_level_message.json',
].map((f) => readFileSync(join(FIXTURES, f)));

export interface CorpusOptions {
  projectId: number;
  key: string;
  /** the server's MAX_COMPRESSED_BODY_BYTES */
  maxCompressed: number;
  count: number;
}

export function* hostileCorpus(o: CorpusOptions): Generator<HostileRequest> {
  const r = rng(20261128);
  const pick = <T,>(a: readonly T[]): T => a[Math.floor(r() * a.length)]!;
  const auth = { 'x-sentry-auth': `Sentry sentry_key=${o.key}, sentry_version=7` };
  const store = `/api/${o.projectId}/store/`;
  const envelope = `/api/${o.projectId}/envelope/`;
  const encoders = { gzip: gzipSync, deflate: deflateSync, br: brotliCompressSync } as const;
  const compressed = STORE_BODIES.flatMap((b) => (['gzip', 'deflate', 'br'] as const).map((e) => ({ e, data: encoders[e](b) })));
  const bomb = gzipSync(Buffer.alloc(64 * 1024 * 1024));
  const envBomb = gzipSync(Buffer.concat([Buffer.from('{}\n{"type":"attachment","length":67108864}\n'), Buffer.alloc(64 * 1024 * 1024)]));
  const tooBig = Buffer.alloc(o.maxCompressed + 1024, 0x20);
  const okEventId = 'a'.repeat(32);

  const kinds: Array<[number, () => HostileRequest]> = [
    [20, () => {
      const c = pick(compressed);
      const cut = 1 + Math.floor(r() * (c.data.length - 2));
      return { name: `truncated ${c.e} at ${cut}/${c.data.length}`, method: 'POST', path: store, headers: { ...auth, 'content-encoding': c.e }, body: c.data.subarray(0, cut) };
    }],
    [20, () => {
      const c = pick(compressed.filter((x) => x.e !== 'br'));
      const b = Buffer.from(c.data);
      const at = 10 + Math.floor(r() * (b.length - 20));
      b[at] = b[at]! ^ (1 + Math.floor(r() * 255));
      return { name: `corrupt ${c.e} byte ${at}`, method: 'POST', path: store, headers: { ...auth, 'content-encoding': c.e }, body: b };
    }],
    [1, () => ({ name: 'gzip bomb (store)', method: 'POST', path: store, headers: { ...auth, 'content-encoding': 'gzip' }, body: bomb })],
    [1, () => ({ name: 'gzip bomb (envelope)', method: 'POST', path: envelope, headers: { ...auth, 'content-encoding': 'gzip' }, body: envBomb })],
    [1, () => ({ name: 'body over the compressed limit', method: 'POST', path: store, headers: { ...auth, 'content-encoding': 'gzip' }, body: tooBig })],
    [5, () => {
      const depth = 1000 + Math.floor(r() * 100000);
      return { name: `nested arrays depth ${depth}`, method: 'POST', path: store, headers: auth, body: Buffer.from('['.repeat(depth) + ']'.repeat(depth)) };
    }],
    [5, () => {
      const depth = 10 + Math.floor(r() * 5000);
      return { name: `unterminated nested object depth ${depth}`, method: 'POST', path: store, headers: auth, body: Buffer.from('{"a":'.repeat(depth)) };
    }],
    [8, () => {
      const bad = Buffer.from([0xff, 0xfe, 0xc3, 0x28, 0xa0, 0xa1, 0xe2, 0x28, 0xa1]);
      const body = Buffer.concat([Buffer.from('{"event_id":"'), bad.subarray(0, 1 + Math.floor(r() * bad.length)), Buffer.from('"}\n{"type":"event"}\n{}\n')]);
      return { name: 'invalid UTF-8 in the envelope header', method: 'POST', path: envelope, headers: auth, body };
    }],
    [5, () => ({ name: 'store body not JSON', method: 'POST', path: store, headers: auth, body: Buffer.from(pick(['', 'null', '"x"', '42', '{', '{"event_id":}', '\u0000\u0001', 'true', '[1,2]'])) })],
    [20, () => {
      const faults = [
        `{"event_id":"${okEventId}"}\n{"type":"event","length":500}\n{}`,
        `{"event_id":"${okEventId}"}\n{"type":"event","length":-4}\n{}`,
        `{"event_id":"${okEventId}"}\n{"type":"event","length":"ten"}\n{}`,
        `{"event_id":"${okEventId}"}\n{"length":2}\n{}`,
        `{"event_id":"${okEventId}"}\n{"type":"event","length":1}\n{}`,
        `{"event_id":"${okEventId}"}\nnot json\n{}`,
        `["event_id"]\n{"type":"event"}\n{}`,
        `{"event_id":"not-a-uuid"}\n{"type":"event"}\n{}`,
        `{"event_id":"${okEventId}"\n{"type":"event"}\n{}`,
        `{"event_id":"${okEventId}"}\n{"type":""}\n{}`,
        `\n{"type":"event"}\n{}`,
      ];
      const f = pick(faults);
      return { name: `envelope framing: ${JSON.stringify(f.slice(0, 60))}`, method: 'POST', path: envelope, headers: auth, body: Buffer.from(f) };
    }],
    [8, () => {
      const enc = pick(['compress', 'x-foo', 'gzip, br', 'identity;q=0', 'snappy', 'lz4', 'gzip gzip', '\u00e9']);
      return { name: `Content-Encoding ${JSON.stringify(enc)}`, method: 'POST', path: store, headers: { ...auth, 'content-encoding': enc.replace(/[^\x20-\x7e]/g, 'x') }, body: STORE_BODIES[0]! };
    }],
    [10, () => {
      const id = pick(['abc', '-1', '1e5', '0x10', '99999999999999999999999', '1.5', '%00', '..', '9223372036854775808', String(o.projectId + 1000)]);
      return { name: `project id ${id}`, method: 'POST', path: `/api/${encodeURIComponent(id)}/store/`, headers: auth, body: STORE_BODIES[1]! };
    }],
    [10, () => {
      const h = pick<Record<string, string>>([
        {},
        { 'x-sentry-auth': 'garbage' },
        { 'x-sentry-auth': 'Sentry ' },
        { 'x-sentry-auth': 'Sentry sentry_key=' },
        { 'x-sentry-auth': 'Sentry sentry_key=ffffffffffffffffffffffffffffffff, sentry_version=7' },
        { authorization: 'Bearer nope' },
        { authorization: 'Sentry sentry_key=' + 'k'.repeat(5000) },
        { 'x-sentry-auth': `Sentry sentry_key=${o.key}, sentry_version=99` },
      ]);
      return { name: `auth ${JSON.stringify(h).slice(0, 80)}`, method: 'POST', path: store, headers: h, body: STORE_BODIES[2]! };
    }],
  ];
  const total = kinds.reduce((s, [w]) => s + w, 0);
  for (let i = 0; i < o.count; i++) {
    let x = r() * total;
    for (const [w, make] of kinds) {
      if ((x -= w) < 0) {
        yield make();
        break;
      }
    }
  }
}
