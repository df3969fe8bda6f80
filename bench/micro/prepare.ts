import { deflateRawSync, deflateSync, gzipSync } from 'node:zlib';
import { DICT_LEVEL, DICT_MAX_BYTES } from '../../src/archive/dictionaries.js';
import type { ArchiveRow } from '../../src/archive/row.js';
import { prepareBatch } from '../../src/digest/prepare.js';
import { buildTemplates, eventId, groupTag, newNonce, render, schedule, type Traffic } from '../workload.js';

// Micro-benchmark of the digest's CPU half alone (no database, one thread): the bench mix stored the
// way ingest stores it — bodies sent compressed kept as sent (gzip), uncompressed ones deflated
// against a dictionary per SDK and endpoint made of the first such payload (src/archive/dictionaries.ts;
// ingest also replaces a dictionary that stops fitting, which this leaves out) — prepared in batches of 200. `node dist/bench/micro/prepare.js [events] [rounds] [realistic|fixed]`.
// Prints µs per event per round; the first rounds include the grouping cache filling (one miss per group).

const events = Number(process.argv[2] ?? 20_000);
const rounds = Number(process.argv[3] ?? 5);
const traffic = (process.argv[4] ?? 'realistic') as Traffic;
const templates = buildTemplates({ projectId: 1, key: 'a'.repeat(32) }, { kind: 'mix', groups: 35, traffic });
const order = schedule(templates);
const nonce = newNonce();
const rows: ArchiveRow[] = [];
const dicts = new Map<string, { id: number; bytes: Buffer }>();
for (let i = 0; i < events; i++) {
  const t = templates[order[i % order.length]!]!;
  const raw = render(t, eventId(nonce, 0, i), groupTag(i % t.groups));
  const kind = t.path.includes('/store/') ? 'store' : 'envelope';
  if (t.encoding !== 'identity') {
    rows.push({ project_id: 1, id: i + 1, kind, encoding: t.encoding, event_id: null, received_at: new Date(), meta: {}, payload: t.encoding === 'gzip' ? gzipSync(raw, { level: 6 }) : deflateSync(raw) });
    continue;
  }
  const key = `${kind} ${t.style}`;
  let dict = dicts.get(key);
  if (!dict) dicts.set(key, (dict = { id: dicts.size + 1, bytes: Buffer.from(raw.subarray(0, DICT_MAX_BYTES)) }));
  const payload = deflateRawSync(raw, { dictionary: dict.bytes, level: DICT_LEVEL });
  rows.push({ project_id: 1, id: i + 1, kind, encoding: 'deflate-dict', event_id: null, received_at: new Date(), meta: {}, payload, dict_id: dict.id, dict: dict.bytes });
}
for (let r = 0; r < rounds; r++) {
  const t0 = process.hrtime.bigint();
  let n = 0;
  let failed = 0, invalid = 0;
  for (let i = 0; i < rows.length; i += 200) {
    const p = prepareBatch(rows.slice(i, i + 200), 20 * 1024 * 1024);
    n += p.events.length;
    failed += p.failed.length;
    invalid += p.extras.invalid.length;
    if (r === 0 && i === 0 && p.failed.length) console.log(p.failed[0]);
  }
  const us = Number(process.hrtime.bigint() - t0) / 1000;
  console.log(`round ${r}: ${(us / rows.length).toFixed(1)} µs/payload (${n} events, ${failed} failed, ${invalid} invalid)`);
}
