import { build } from 'esbuild';
import { normalizeEvent } from '../../src/protocol/event.js';
import { parseMap } from '../../src/sourcemaps/cache.js';
import { applySourceMaps, lineStarts, needsSymbolication, type FileOutcome } from '../../src/sourcemaps/symbolicate.js';

// Micro-benchmark of symbolication's CPU cost once the map is parsed and cached (the steady state of
// the digest: the lookups are one query per batch, the parse once per map): a minified bundle of
// ~40 functions, a JavaScript event of 12 frames of which 6 are in the bundle, applied per event.
// Also the cost of the check that lets every other event through. `node dist/bench/micro/sourcemaps.js [events] [rounds]`.

const events = Number(process.argv[2] ?? 20_000);
const rounds = Number(process.argv[3] ?? 5);

const fns = Array.from({ length: 40 }, (_, i) => `export function step${i}(x) {\n  if (x > ${i * 7}) {\n    return step${i + 1 < 40 ? i + 1 : 0}(x - 1) + ${i};\n  }\n  throw new Error('failed at step ${i}: ' + x);\n}\n`).join('\n');
const out = await build({ stdin: { contents: fns, sourcefile: 'src/steps.js' }, bundle: false, minify: true, sourcemap: 'external', write: false, outfile: 'app.js', format: 'esm' });
const code = out.outputFiles.find((f) => f.path.endsWith('.js'))!.text;
const mapText = out.outputFiles.find((f) => f.path.endsWith('.map'))!.text;
const parsed = parseMap(Buffer.from(mapText));
if (parsed.kind !== 'map') throw new Error('map did not parse');
const starts = lineStarts(code);
const positions = [...code.matchAll(/throw /g)].map((m) => m.index! + 1);
const file = 'https://shop.example.com/static/app.4f2a9c.min.js';
const outcomes = new Map<string, FileOutcome>([[file, { ok: { map: parsed.map, mapUrl: '~/static/app.4f2a9c.min.js.map', minified: { text: code, lineStarts: starts }, resolvedWith: 'debug-id' } }]]);
const fnName = (col: number) => /function (\w+)\(/g.exec(code.slice(code.lastIndexOf('function ', col)))?.[1] ?? 'n';

const payloads = Array.from({ length: 64 }, (_, k) => JSON.stringify({
  platform: 'javascript', release: 'shop@1',
  debug_meta: { images: [{ type: 'sourcemap', code_file: file, debug_id: '5b1c6f3e-2d4a-4e8f-9a7b-0c1d2e3f4a5b' }] },
  exception: { values: [{ type: 'Error', value: 'failed', stacktrace: { frames: Array.from({ length: 12 }, (_, i) => i % 2
    ? { abs_path: file, function: fnName(positions[(k + i) % positions.length]!), lineno: 1, colno: positions[(k + i) % positions.length], in_app: true }
    : { abs_path: `https://shop.example.com/node_modules/lib${i}.js`, function: `lib${i}`, lineno: 10 + i, colno: 5, in_app: false }) } }] },
}));
const other = JSON.stringify({ platform: 'python', exception: { values: [{ type: 'ValueError', value: 'x', stacktrace: { frames: Array.from({ length: 12 }, (_, i) => ({ filename: `app/m${i}.py`, function: `f${i}`, lineno: i + 1 })) } }] } });

for (let r = 0; r < rounds; r++) {
  const evs = Array.from({ length: events }, (_, i) => normalizeEvent(JSON.parse(payloads[i % payloads.length]!), { receivedAt: new Date(), fallbackId: () => 'a'.repeat(32) }));
  const t0 = process.hrtime.bigint();
  let mapped = 0;
  for (const ev of evs) {
    if (needsSymbolication(ev) && applySourceMaps(ev, outcomes)) mapped++;
  }
  const us = Number(process.hrtime.bigint() - t0) / 1000 / events;
  const py = Array.from({ length: events }, () => normalizeEvent(JSON.parse(other), { receivedAt: new Date(), fallbackId: () => 'a'.repeat(32) }));
  const t1 = process.hrtime.bigint();
  let skipped = 0;
  for (const ev of py) if (!needsSymbolication(ev)) skipped++;
  const usOther = Number(process.hrtime.bigint() - t1) / 1000 / events;
  console.log(`round ${r}: ${us.toFixed(1)} µs per JavaScript event (6 frames mapped, ${mapped} events) · ${usOther.toFixed(2)} µs per other event (${skipped} let through)`);
}
