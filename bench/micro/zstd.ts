import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as zlib from 'node:zlib';
import { Decompress } from 'fzstd';
import { SDK_PAYLOADS } from '../../test/fixtures/corpus.js';

// Micro-benchmark of zstd decoding, the JS decoder (fzstd, used on Node 20, which had no zstd) against
// node:zlib's (Node ≥ 22.15): every payload of the SDK corpus compressed at level 3, and one 1 MB body
// (corpus payloads concatenated to 1 MB, the size of a large envelope). `node dist/bench/micro/zstd.js [rounds]`.
// Prints µs per payload and MB/s of output for each decoder.

const rounds = Number(process.argv[2] ?? 20);
const raws: Buffer[] = [];
for (const d of readdirSync(SDK_PAYLOADS, { withFileTypes: true })) {
  if (!d.isDirectory()) continue;
  for (const f of readdirSync(join(SDK_PAYLOADS, d.name))) if (!f.endsWith('.gz') && !f.endsWith('.request.json')) raws.push(readFileSync(join(SDK_PAYLOADS, d.name, f)));
}
const big = Buffer.concat(Array.from({ length: 200 }, (_, i) => raws[i % raws.length]!)).subarray(0, 1024 * 1024);
const sets = { corpus: raws, '1 MB body': [big] };

function fzstd(buf: Buffer): number {
  let n = 0;
  const d = new Decompress((chunk) => void (n += chunk.length));
  d.push(new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength), true);
  return n;
}
const nodeZstd = (buf: Buffer): number => zlib.zstdDecompressSync(buf, { maxOutputLength: 64 * 1024 * 1024 }).length;

console.log(`node ${process.version}`);
for (const [name, set] of Object.entries(sets)) {
  const compressed = set.map((b) => zlib.zstdCompressSync(b, { params: { [zlib.constants.ZSTD_c_compressionLevel]: 3 } }));
  const rawBytes = set.reduce((s, b) => s + b.length, 0);
  for (const [label, fn] of [['fzstd', fzstd], ['node:zlib', nodeZstd]] as const) {
    const reps = Math.max(1, Math.round(2000 / set.length));
    let best = Infinity;
    for (let r = 0; r < rounds; r++) {
      const t0 = process.hrtime.bigint();
      let out = 0;
      for (let k = 0; k < reps; k++) for (const c of compressed) out += fn(c);
      const ns = Number(process.hrtime.bigint() - t0);
      if (out !== rawBytes * reps) throw new Error(`${label} decoded ${out} bytes, expected ${rawBytes * reps}`);
      best = Math.min(best, ns);
    }
    const perPayload = best / 1000 / (reps * set.length);
    const mbps = (rawBytes * reps) / (best / 1e9) / 1e6;
    console.log(`${name.padEnd(10)} ${label.padEnd(10)} ${perPayload.toFixed(1).padStart(8)} µs/payload  ${mbps.toFixed(0).padStart(5)} MB/s  (${set.length} payloads, ${(rawBytes / 1024).toFixed(0)} KB raw, best of ${rounds})`);
  }
}
