import { gzipSync } from 'node:zlib';
import { compressSmallForStorage } from '../../src/ingest/codec.js';
import type { ArchiveRow } from '../../src/archive/row.js';
import { parsePayload } from '../../src/digest/payload.js';
import { prepareBatch } from '../../src/digest/prepare.js';
import { scrubEvent } from '../../src/scrub/event.js';
import { compileScrub, DEFAULT_SCRUB, type ScrubPlan } from '../../src/scrub/settings.js';
import { buildTemplates, eventId, groupTag, newNonce, render, schedule } from '../workload.js';

// Micro-benchmark of data scrubbing (src/scrub/), one thread, no database:
//  1. where it could run: what scrubbing at ingest would add to the fast path per payload (parse the
//     JSON, scrub, serialize again) against what it adds to the digest, which parses anyway;
//  2. the digest's CPU half (prepareBatch) on the bench mix with scrubbing on (the default) and off;
//  3. CPU per pathological 1 MB event (MAX_EVENT_BYTES): a third of a MB of text built to make
//     pattern matching slow in each of the message, the exception value and extra (IP scrubbing on).
// `node dist/bench/micro/scrub.js [events] [rounds]`.

const events = Number(process.argv[2] ?? 10_000);
const rounds = Number(process.argv[3] ?? 3);
const templates = buildTemplates({ projectId: 1, key: 'a'.repeat(32) }, { kind: 'mix', groups: 35 });
const order = schedule(templates);
const nonce = newNonce();
const rows: ArchiveRow[] = [];
for (let i = 0; i < events; i++) {
  const t = templates[order[i % order.length]!]!;
  const raw = render(t, eventId(nonce, 0, i), groupTag(i % t.groups));
  const kind = t.path.includes('/store/') ? 'store' : 'envelope';
  const stored = t.encoding === 'gzip' ? { encoding: 'gzip' as const, payload: gzipSync(raw, { level: 6 }) } : { encoding: 'br' as const, payload: compressSmallForStorage(raw)! };
  rows.push({ project_id: 1, id: i + 1, kind, encoding: stored.encoding, event_id: null, received_at: new Date(), meta: {}, payload: stored.payload });
}
// CPU time of this process (user + system), not wall time: on a shared machine the wall clock counts
// other processes' turns too.
const cpu = (): bigint => {
  const u = process.cpuUsage();
  return BigInt(u.user + u.system) * 1000n;
};
const us = (t0: bigint, n: number) => (Number(cpu() - t0) / 1000 / n).toFixed(1);
const compiled = compileScrub(DEFAULT_SCRUB, 100);

// 1. The event items' JSON, as the digest holds it after parsing.
const items = rows.flatMap((r) => parsePayload(r, 20 << 20).items.filter((i) => i.type === 'event' || i.type === 'transaction'));
const texts = items.map((i) => i.payload.toString('utf8'));
for (let r = 0; r < rounds; r++) {
  let t0 = cpu();
  for (const s of texts) JSON.parse(s);
  const parse = us(t0, texts.length);
  const parsed = texts.map((s) => JSON.parse(s) as Record<string, unknown>);
  t0 = cpu();
  let changed = 0;
  for (const ev of parsed) if (scrubEvent(ev, compiled)) changed++;
  const scrub = us(t0, parsed.length);
  t0 = cpu();
  for (const ev of parsed) JSON.stringify(ev);
  const stringify = us(t0, parsed.length);
  console.log(`round ${r}: per event item (${texts.length}, ${(texts.reduce((n, s) => n + s.length, 0) / texts.length / 1024).toFixed(1)} KB mean): JSON.parse ${parse} µs, scrub ${scrub} µs, JSON.stringify ${stringify} µs; ${changed} changed`);
}

// 2. The digest's prepare step with and without scrubbing.
const off: ScrubPlan = { maxDepth: 100, projects: { 1: { ...DEFAULT_SCRUB, dataScrubber: false } } };
const on: ScrubPlan = { maxDepth: 100, projects: {} };
for (let r = 0; r < rounds; r++) {
  for (const [name, plan] of [['off', off], ['on', on]] as const) {
    const t0 = cpu();
    let rewrites = 0;
    for (let i = 0; i < rows.length; i += 200) rewrites += prepareBatch(rows.slice(i, i + 200), 20 << 20, {}, plan).rewrites.length;
    console.log(`round ${r}: prepareBatch scrubbing ${name}: ${us(t0, rows.length)} µs/payload (${rewrites} payloads rewritten)`);
  }
}

// 3. Pathological 1 MB events.
const THIRD = Math.floor((1 << 20) / 3) - 100;
const rep = (unit: string) => unit.repeat(Math.ceil(THIRD / unit.length)).slice(0, THIRD);
const nasty: [string, string][] = [['digits', rep('4')], ['card-like groups', rep('4111 ')], ['dashes', rep('1-1-')], ['iban-like', rep('DE89')],
  ['url auth', rep('//a:')], ['pem begin', rep('-----BEGIN PRIVATE KEY-----')], ['bearer', rep('bearer ')], ['token', rep('token')],
  ['pairs', rep('password=')], ['ip-like', rep('1.1.1.1.')], ['colons', rep('1:')], ['secret words', rep('passwor')]];
const ip = compileScrub({ ...DEFAULT_SCRUB, scrubIPAddresses: true }, 100);
for (const [name, s] of nasty) {
  const body = JSON.stringify({ message: s, exception: { values: [{ type: 'E', value: s }] }, extra: { a: s } });
  scrubEvent(JSON.parse(body) as Record<string, unknown>, ip); // warm-up: the JIT has seen this shape
  const ev = JSON.parse(body) as Record<string, unknown>;
  const t0 = cpu();
  scrubEvent(ev, ip);
  console.log(`1 MB event of ${name}: ${(Number(cpu() - t0) / 1e6).toFixed(1)} ms CPU`);
}
