import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { deflateSync, gzipSync } from 'node:zlib';
import { SDK_PAYLOADS } from '../test/fixtures/corpus.js';
import { seededRandom, seedOf, varyEvent } from './variation.js';

// The bench's traffic: real SDK payloads from the SDK fixture corpus (test/fixtures/sdk-payloads), sent the way each SDK sends
// them (endpoint, auth placement, headers, compression; see the fixtures' *.request.json sidecars and
// docs/platform-notes.md). Every request gets a fresh event id so that neither the archive's sha256
// dedup nor the digest's event-id dedup can flatter the numbers, and a "group" number folded into the
// exception type (or message) so that the load spreads over a chosen number of issues.
// Two kinds of traffic (`--traffic`): `realistic` (the default) sends each fixture as one of
// `variants` seeded variants, differing in time, breadcrumbs, user, request and trace ids, tag values
// and stack depth (variation.ts); `fixed` sends each fixture's bytes unchanged but for the event id
// and group tag (the bench's only traffic before: a best case for compression and ingest CPU).

export const FIXTURES_DIR = SDK_PAYLOADS;

export type Style = 'node' | 'browser' | 'python-store' | 'python-envelope' | 'go-store' | 'ruby' | 'gzip-envelope' | 'native' | 'deflate-envelope';
export type Encoding = 'identity' | 'gzip' | 'deflate';

interface FixtureSpec {
  file: string;
  style: Style;
  weight: number;
}

/** The mix: weights are relative request shares, chosen so small and medium events dominate as in real traffic. */
export const MIX: FixtureSpec[] = [
  { file: 'node/node11_http_handler_error.envelope', style: 'node', weight: 10 },
  { file: 'node/node11_exception_with_attachment.envelope', style: 'node', weight: 4 },
  { file: 'node/node11_message_fingerprint.envelope', style: 'node', weight: 4 },
  { file: 'node/node11_large_event.envelope', style: 'node', weight: 2 },
  { file: 'javascript-browser/browser10_exception.envelope', style: 'browser', weight: 8 },
  { file: 'javascript-browser/browser10_message.envelope', style: 'browser', weight: 3 },
  { file: 'javascript-browser/glitchtip_js_error_with_context.json', style: 'browser', weight: 4 },
  { file: 'javascript-browser/glitchtip_small_js_error.json', style: 'browser', weight: 4 },
  { file: 'python/python1910_store_zero_division.json', style: 'python-store', weight: 8 },
  { file: 'python/python1910_store_logging.json', style: 'python-store', weight: 4 },
  { file: 'python/python1910_transaction.envelope', style: 'python-envelope', weight: 4 },
  { file: 'python/glitchtip_django_template_error.json', style: 'python-store', weight: 3 },
  { file: 'go/bugsink_go_0.30.json', style: 'go-store', weight: 3 },
  { file: 'go/glitchtip_go_file_not_found.json', style: 'go-store', weight: 2 },
  { file: 'java/bugsink_java_top_level_message.json', style: 'gzip-envelope', weight: 4 },
  { file: 'android/sentry_grouping_input_android_anr.json', style: 'gzip-envelope', weight: 3 },
  { file: 'dotnet/glitchtip_aspnetcore_error.json', style: 'gzip-envelope', weight: 3 },
  { file: 'dotnet/glitchtip_aspnetcore_divide_zero.json', style: 'gzip-envelope', weight: 3 },
  { file: 'cocoa/sentry_grouping_input_swiftui.json', style: 'gzip-envelope', weight: 2 },
  { file: 'cocoa/sentry_cocoa_crash_converted_event.json', style: 'gzip-envelope', weight: 1 },
  { file: 'laravel/bugsink_laravel_4.8.json', style: 'gzip-envelope', weight: 2 },
  { file: 'php/glitchtip_php_message.json', style: 'gzip-envelope', weight: 2 },
  { file: 'ruby/glitchtip_rails_zero_division.json', style: 'ruby', weight: 3 },
  { file: 'rust/sentry_grouping_input_actix_rust.json', style: 'native', weight: 2 },
  { file: 'native/sentry_native_macos_event.json', style: 'native', weight: 2 },
  { file: 'unity/relay_unity_editor_exception.json', style: 'gzip-envelope', weight: 2 },
  { file: 'elixir/glitchtip_elixir_error.json', style: 'go-store', weight: 1 },
  { file: 'electron/relay_electron_main_process_error.json', style: 'deflate-envelope', weight: 2 },
  { file: 'cli/glitchtip_sentry_cli_send_event.json', style: 'native', weight: 1 },
];

/** The repeated-error workload: one error, sent again and again (each with its own event id). */
export const REPEATED: FixtureSpec[] = [{ file: 'node/node11_http_handler_error.envelope', style: 'node', weight: 1 }];

export type Piece = Buffer | 'I' | 'G';

export interface Template {
  name: string;
  /** which of its fixture's variants this is (0 in fixed traffic) */
  variant: number;
  /** how many variants its fixture has (1 in fixed traffic) */
  variants: number;
  style: Style;
  weight: number;
  /** distinct groups (issues) this template's fixture spreads over: a sender takes the group of a
   * request from its request counter (counter mod groups), so that a fixture's variants share them */
  groups: number;
  encoding: Encoding;
  path: string;
  headers: Record<string, string>;
  /** the uncompressed body, split at the event-id ('I', 32 hex) and group ('G', 6 hex) marks */
  pieces: Piece[];
}

export interface Target {
  projectId: number;
  key: string;
}

/** One distinct event id per request: a per-run nonce, the sender (thread/process) and a counter. */
export function eventId(nonce: string, sender: number, n: number): string {
  return nonce + sender.toString(16).padStart(4, '0') + (n >>> 0).toString(16).padStart(8, '0');
}
export function newNonce(): string {
  return randomBytes(10).toString('hex');
}
export function groupTag(n: number): string {
  return n.toString(16).padStart(6, '0');
}

const SDK_CLIENT: Record<Style, string> = {
  node: 'sentry.javascript.node/11.12.0',
  browser: 'sentry.javascript.browser/10.78.0',
  'python-store': 'sentry.python/1.9.10',
  'python-envelope': 'sentry.python/1.9.10',
  'go-store': 'sentry.go/0.11.0',
  ruby: 'sentry.ruby/5.3.1',
  'gzip-envelope': 'sentry.java/7.8.0',
  native: 'sentry.native/0.4.8',
  'deflate-envelope': 'sentry.javascript.electron/0.8.0',
};

function requestShape(style: Style, t: Target, rawSize: number): { path: string; headers: Record<string, string>; encoding: Encoding } {
  const client = SDK_CLIENT[style];
  const auth = `Sentry sentry_key=${t.key}, sentry_version=7, sentry_client=${client}`;
  const query = `?sentry_version=7&sentry_key=${t.key}&sentry_client=${encodeURIComponent(client)}`;
  const env = `/api/${t.projectId}/envelope/`;
  const store = `/api/${t.projectId}/store/`;
  switch (style) {
    case 'node': // no Content-Type; gzip only above 32 KB
      return { path: env + query, headers: { 'user-agent': client, ...(rawSize > 32768 ? { 'content-encoding': 'gzip' } : {}) }, encoding: rawSize > 32768 ? 'gzip' : 'identity' };
    case 'browser':
      return { path: env + query, headers: { 'content-type': 'text/plain;charset=UTF-8', accept: '*/*' }, encoding: 'identity' };
    case 'python-store':
      return { path: store, headers: { 'content-type': 'application/json', 'content-encoding': 'gzip', 'user-agent': client, 'x-sentry-auth': auth }, encoding: 'gzip' };
    case 'python-envelope':
      return { path: env, headers: { 'content-type': 'application/x-sentry-envelope', 'content-encoding': 'gzip', 'user-agent': client, 'x-sentry-auth': auth }, encoding: 'gzip' };
    case 'go-store':
      return { path: store, headers: { 'content-type': 'application/json', 'user-agent': client, 'x-sentry-auth': auth }, encoding: 'identity' };
    case 'ruby': // Content-Encoding present but empty, as sentry-ruby 5.3 sends it
      return { path: env, headers: { 'content-type': 'application/x-sentry-envelope', 'content-encoding': '', 'x-sentry-auth': auth }, encoding: 'identity' };
    case 'gzip-envelope':
      return { path: env, headers: { 'content-type': 'application/x-sentry-envelope', 'content-encoding': 'gzip', 'user-agent': client, 'x-sentry-auth': auth }, encoding: 'gzip' };
    case 'native':
      return { path: env, headers: { 'content-type': 'application/x-sentry-envelope', 'x-sentry-auth': auth }, encoding: 'identity' };
    case 'deflate-envelope':
      return { path: env, headers: { 'content-type': 'application/x-sentry-envelope', 'content-encoding': 'deflate', 'x-sentry-auth': auth }, encoding: 'deflate' };
  }
}

// Markers: random, so they cannot occur in a fixture; the id mark has the id's width (32), the group
// mark the group tag's (6), so that item `length` headers computed with them stay right.
const ID_MARK = randomBytes(16).toString('hex').replace(/^./, 'x'); // 'x' keeps it from being valid hex
const GROUP_MARK = 'q' + randomBytes(3).toString('hex').slice(1).replace(/[0-9]/g, 'z');

type Json = Record<string, unknown>;

/** A variant's seeded generator (realistic traffic), or null (fixed). */
type Vary = (() => number) | null;

function markEvent(ev: Json, now: Date, vary: Vary): void {
  ev.event_id = ID_MARK;
  ev.timestamp = typeof ev.timestamp === 'number' ? now.getTime() / 1000 : now.toISOString();
  if (ev.type === 'transaction') return;
  if (vary) varyEvent(ev, vary, now.getTime());
  const exc = ev.exception as Json | Json[] | undefined;
  const values = Array.isArray(exc) ? exc : (exc?.values as Json[] | undefined);
  const main = values?.length ? values[values.length - 1] : undefined;
  if (main && typeof main.type === 'string') {
    main.type = `${main.type}_${GROUP_MARK}`;
    return;
  }
  if (main) {
    main.value = `${String(main.value ?? '')} ${GROUP_MARK}`;
    return;
  }
  const le = ev.logentry as Json | undefined;
  if (le && typeof le.message === 'string') {
    le.message += ` ${GROUP_MARK}`;
    if (typeof le.formatted === 'string') le.formatted += ` ${GROUP_MARK}`;
  } else if (typeof ev.message === 'string') ev.message += ` ${GROUP_MARK}`;
  else if (ev.message && typeof ev.message === 'object') {
    const m = ev.message as Json;
    if (typeof m.formatted === 'string') m.formatted += ` ${GROUP_MARK}`;
    if (typeof m.message === 'string') m.message += ` ${GROUP_MARK}`;
  } else ev.message = `bench ${GROUP_MARK}`;
}

interface Item {
  header: Json;
  payload: Buffer;
}

/** Minimal envelope framing (the fixtures chosen are well-formed): header line, then items with or without `length`. */
function parseEnvelope(buf: Buffer): { header: Json; items: Item[] } {
  let pos = buf.indexOf(10);
  const header = JSON.parse(buf.subarray(0, pos).toString()) as Json;
  pos++;
  const items: Item[] = [];
  while (pos < buf.length) {
    let nl = buf.indexOf(10, pos);
    if (nl < 0) nl = buf.length;
    const line = buf.subarray(pos, nl).toString().trim();
    pos = nl + 1;
    if (!line) continue;
    const ih = JSON.parse(line) as Json;
    let payload: Buffer;
    if (typeof ih.length === 'number') {
      payload = buf.subarray(pos, pos + ih.length);
      pos += ih.length + 1;
    } else {
      let end = buf.indexOf(10, pos);
      if (end < 0) end = buf.length;
      payload = buf.subarray(pos, end);
      pos = end + 1;
    }
    items.push({ header: ih, payload });
  }
  return { header, items };
}

function frameEnvelope(header: Json, items: Item[]): Buffer {
  const parts: Buffer[] = [Buffer.from(JSON.stringify(header) + '\n')];
  for (const it of items) {
    const h = 'length' in it.header ? { ...it.header, length: it.payload.length } : it.header;
    parts.push(Buffer.from(JSON.stringify(h) + '\n'), it.payload, Buffer.from('\n'));
  }
  return Buffer.concat(parts);
}

function buildBody(spec: FixtureSpec, t: Target, now: Date, vary: Vary): Buffer {
  if (!isAbsolute(spec.file) && !existsSync(FIXTURES_DIR)) throw new Error(`the SDK payload corpus is not at ${FIXTURES_DIR} (test/fixtures/sdk-payloads)`);
  const raw = readFileSync(isAbsolute(spec.file) ? spec.file : join(FIXTURES_DIR, spec.file));
  const sdk = SDK_CLIENT[spec.style].split('/');
  if (spec.file.endsWith('.envelope')) {
    const env = parseEnvelope(raw);
    env.header.event_id = ID_MARK;
    if ('sent_at' in env.header) env.header.sent_at = now.toISOString();
    for (const it of env.items) {
      if (it.header.type === 'event' || it.header.type === 'transaction') {
        const ev = JSON.parse(it.payload.toString()) as Json;
        markEvent(ev, now, vary);
        it.payload = Buffer.from(JSON.stringify(ev));
      }
    }
    return frameEnvelope(env.header, env.items);
  }
  const ev = JSON.parse(raw.toString()) as Json;
  markEvent(ev, now, vary);
  if (spec.style === 'python-store' || spec.style === 'go-store') return Buffer.from(JSON.stringify(ev));
  // A store-shaped event sent as a modern SDK does: an envelope with one event item.
  const header: Json = { event_id: ID_MARK, sent_at: now.toISOString(), sdk: { name: sdk[0], version: sdk[1] } };
  if (spec.style === 'ruby') header.dsn = `http://${t.key}@localhost/${t.projectId}`;
  const withLength = spec.style !== 'browser';
  const payload = Buffer.from(JSON.stringify(ev));
  return frameEnvelope(header, [{ header: withLength ? { type: 'event', length: payload.length } : { type: 'event' }, payload }]);
}

function split(body: Buffer): Piece[] {
  const out: Piece[] = [];
  const s = body.toString('latin1'); // byte-preserving; the marks are ASCII
  const re = new RegExp(`${ID_MARK}|${GROUP_MARK}`, 'g');
  let last = 0;
  for (let m; (m = re.exec(s)); ) {
    if (m.index > last) out.push(body.subarray(last, m.index));
    out.push(m[0] === ID_MARK ? 'I' : 'G');
    last = m.index + m[0].length;
  }
  if (last < body.length) out.push(body.subarray(last));
  return out;
}

export type Traffic = 'realistic' | 'fixed';

export interface WorkloadOptions {
  /** js: the mix, and the JS events of `jsFixtures` three times as often as all of it (bench/js-mix.ts) */
  kind: 'mix' | 'repeated' | 'js';
  /** absolute paths of the JS-heavy mix's event fixtures (kind js) */
  jsFixtures?: string[];
  /** issues per template (mix) */
  groups: number;
  /** realistic (default) or fixed, see above */
  traffic?: Traffic;
  /** variants per fixture in realistic traffic (each request takes the next; default VARIANTS) */
  variants?: number;
  /** seed of the variants (default 1): the same seed, the same bodies but for their times */
  seed?: number;
}

/** Variants per fixture: 64 × 29 fixtures ≈ 1,900 distinct bodies (~16 MB of templates), enough
 * that consecutive requests of a fixture never share their varying parts. */
export const VARIANTS = 64;

export function buildTemplates(target: Target, opts: WorkloadOptions): Template[] {
  const now = new Date();
  const mixWeight = MIX.reduce((a, s) => a + s.weight, 0);
  const js = (opts.jsFixtures ?? []).map((file) => ({ file, style: 'browser' as const, weight: Math.ceil((3 * mixWeight) / (opts.jsFixtures?.length ?? 1)) }));
  if (opts.kind === 'js' && !js.length) throw new Error('the js workload needs jsFixtures (bench/js-mix.ts)');
  const specs = opts.kind === 'repeated' ? REPEATED : opts.kind === 'js' ? [...MIX, ...js] : MIX;
  const realistic = (opts.traffic ?? 'realistic') === 'realistic';
  const variants = realistic ? Math.max(1, opts.variants ?? VARIANTS) : 1;
  return specs.flatMap((spec) =>
    Array.from({ length: variants }, (_, v) => {
      const vary = realistic ? seededRandom(seedOf(spec.file, (opts.seed ?? 1) * 1_000_003 + v)) : null;
      const body = buildBody(spec, target, now, vary);
      const shape = requestShape(spec.style, target, body.length);
      return { name: spec.file, variant: v, variants, style: spec.style, weight: spec.weight, groups: opts.kind === 'repeated' ? 1 : opts.groups, ...shape, pieces: split(body) };
    }),
  );
}

/** The uncompressed body with its marks filled in. */
export function render(t: Template, id: string, group: string): Buffer {
  return Buffer.concat(t.pieces.map((p) => (p === 'I' ? Buffer.from(id) : p === 'G' ? Buffer.from(group) : p)));
}

/** The body as sent on the wire. Python's SDK gzips at level 9, the others at zlib's default 6. */
export function encode(t: Template, raw: Buffer): Buffer {
  if (t.encoding === 'gzip') return gzipSync(raw, { level: t.style.startsWith('python') ? 9 : 6 });
  if (t.encoding === 'deflate') return deflateSync(raw);
  return raw;
}

/** A weighted, shuffled order of template indices that senders cycle through (deterministic). */
export function schedule(templates: Template[], length = 1000 * (templates[0]?.variants ?? 1)): number[] {
  const total = templates.reduce((a, t) => a + t.weight, 0);
  const out: number[] = [];
  templates.forEach((t, i) => {
    const n = Math.max(1, Math.round((t.weight / total) * length));
    for (let k = 0; k < n; k++) out.push(i);
  });
  let seed = 42;
  for (let i = out.length - 1; i > 0; i--) {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    const j = seed % (i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

/** Mean raw and wire sizes over the schedule, for the report. */
export function sizes(templates: Template[]): { rawMean: number; wireMean: number; byEncoding: Record<string, number> } {
  const sched = schedule(templates);
  let raw = 0;
  let wire = 0;
  const byEncoding: Record<string, number> = {};
  const cache = templates.map((t) => {
    const r = render(t, '0'.repeat(32), '000000');
    return { raw: r.length, wire: encode(t, r).length };
  });
  for (const i of sched) {
    raw += cache[i]!.raw;
    wire += cache[i]!.wire;
    const e = templates[i]!.encoding;
    byEncoding[e] = (byEncoding[e] ?? 0) + 1 / sched.length;
  }
  return { rawMean: raw / sched.length, wireMean: wire / sched.length, byEncoding };
}

/** Pre-built distinct bodies for a compressed template (compressing per request would load the generator). */
export function buildPool(t: Template, count: number, nonce: string, sender: number): Buffer[] {
  const out: Buffer[] = [];
  // groups spread over the fixture's variants: variant v's k-th body takes group k × variants + v
  for (let k = 0; k < count; k++) out.push(encode(t, render(t, eventId(nonce, sender, k), groupTag((k * t.variants + t.variant) % t.groups))));
  return out;
}

/** How many pre-built bodies each pooled template needs for `expected` requests of the whole mix
 * (25% over its share: a run that stops part-way through the schedule may favour some templates). */
export function poolSizes(templates: Template[], expected: number, min: number, pooled: (t: Template) => boolean): number[] {
  const total = templates.reduce((a, t) => a + t.weight, 0);
  return templates.map((t) => (pooled(t) ? Math.max(min, Math.ceil((1.25 * expected * t.weight) / total) + 2) : 0));
}

// ---- per-request gzip without per-request compression ----
// A gzip body may be several gzip members back to back (RFC 1952 §2.2; zlib's gunzip, Node's and
// Python's, read them all as one stream). The fixed parts of a template are compressed once, each
// into a member of its own, and the per-request marks (event id, group) are sent as tiny members
// holding one stored (uncompressed) deflate block. So a sender makes a distinct, valid gzip body per
// request at the cost of a CRC-32 of 38 bytes. The body is ~1-3% larger than one member would be
// (each member has 18 bytes of framing, and back-references cannot cross members); the disk phase,
// which measures stored sizes, sends single-member bodies instead.

/** The template's wire pieces: literal parts gzip-compressed into members; marks still to be filled
 * (as stored members) per request. Only for gzip templates. */
export function gzipMembers(t: Template): Piece[] {
  const level = t.style.startsWith('python') ? 9 : 6;
  return t.pieces.map((p) => (p === 'I' || p === 'G' ? p : gzipSync(p, { level })));
}

/** A gzip member holding `data` (≤ 65535 bytes) in one stored deflate block: data.length + 23 bytes. */
export function storedMember(data: Buffer): Buffer {
  const n = data.length;
  const out = Buffer.alloc(n + 23);
  out.set([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff, 1, n & 255, n >> 8, ~n & 255, (~n >> 8) & 255]);
  data.copy(out, 15);
  out.writeUInt32LE(crc32(data), 15 + n);
  out.writeUInt32LE(n, 19 + n);
  return out;
}

/** The width on the wire of a mark of `width` bytes sent as a stored member. */
export const STORED_OVERHEAD = 23;

// CRC-32 (IEEE), table-driven; node:zlib's crc32 arrived only in Node 20.15.
const CRC_TABLE = Array.from({ length: 256 }, (_, i) => {
  let c = i;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(b: Buffer): number {
  let c = 0xffffffff;
  for (let i = 0; i < b.length; i++) c = CRC_TABLE[(c ^ b[i]!) & 255]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
