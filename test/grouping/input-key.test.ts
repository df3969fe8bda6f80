// The digest caches grouping results under a hash of groupingInput() (src/grouping/event.ts,
// value-hash.ts), which keeps only what grouping reads. If it ever left out something grouping reads, two events
// that group differently would share a cache entry. Checked here on the reference inputs: any
// change to a frame, exception or thread field that changes the grouping must change the key,
// and the fields grouping never reads (locals, source context, addresses) must not.
import { expect, it } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { sharedCorpus } from '../fixtures/corpus.js';
import { describeShared } from '../helpers/shared.js';
import { computeGrouping } from '../../src/grouping/index.js';
import { groupingInput, isObj, type Json } from '../../src/grouping/event.js';
import { valueHash } from '../../src/grouping/value-hash.js';

const { dir: base, present } = sharedCorpus('grouping');
const index = (present ? JSON.parse(fs.readFileSync(path.join(base, 'index.json'), 'utf8')) : { pairs: [] }) as { pairs: Array<{ name: string; input: string }> };
const OTHERS = ['platform', 'type', 'logentry', 'message', 'fingerprint', 'checksum', 'csp', 'hpkp', 'expectct', 'expectstaple', 'template', 'logger', 'level', 'transaction', 'release', 'tags'];

// The key as the digest builds it (src/digest/group.ts adds the SDK and the project's rules).
const key = (ev: Json): string => valueHash(groupingInput(ev, OTHERS));
const hashes = (ev: Json): string => JSON.stringify(computeGrouping(ev).hashes);
const clone = (ev: Json): Json => structuredClone(ev);

/** Paths to the first and last three frames of every stack trace, and to every exception/thread object. */
function targets(ev: Json): { frames: unknown[][]; objects: unknown[][] } {
  const frames: unknown[][] = [];
  const objects: unknown[][] = [];
  const visit = (v: unknown, p: unknown[]): void => {
    if (Array.isArray(v)) return v.forEach((x, i) => visit(x, [...p, i]));
    if (!isObj(v)) return;
    if (Array.isArray(v.frames)) {
      const n = v.frames.length;
      v.frames.forEach((_, i) => (i < 3 || i >= n - 3) && frames.push([...p, 'frames', i]));
      return;
    }
    if (p.length && (p.includes('exception') || p.includes('threads'))) objects.push(p);
    for (const [k, x] of Object.entries(v)) visit(x, [...p, k]);
  };
  for (const k of ['exception', 'threads', 'stacktrace']) visit(ev[k], [k]);
  return { frames, objects };
}

function at(ev: Json, p: unknown[]): Json {
  let v: unknown = ev;
  for (const k of p) v = (v as Record<string, unknown>)[k as string];
  return v as Json;
}

const inputs = index.pairs.map((p) => ({ name: p.name, event: JSON.parse(fs.readFileSync(path.join(base, p.input), 'utf8')) as Json }));

describeShared('grouping', 'grouping cache key (groupingInput)', () => {
  it('changes whenever a changed frame, exception or thread field changes the grouping', () => {
    let checked = 0;
    let mattered = 0;
    for (const { name, event } of inputs) {
      const before = { key: key(event), hashes: hashes(event) };
      const { frames, objects } = targets(event);
      for (const p of [...frames, ...objects]) {
        const fields = new Set([...Object.keys(at(event, p)), 'function', 'module', 'filename', 'abs_path', 'package', 'in_app', 'context_line', 'type', 'value']);
        for (const field of fields) {
          if (field === 'frames' || field === 'stacktrace' || field === 'values') continue;
          const ev = clone(event);
          const obj = at(ev, p);
          const old = obj[field];
          obj[field] = typeof old === 'boolean' ? !old : typeof old === 'number' ? old + 7 : `${String(old ?? '')}Changed_${field}`;
          checked++;
          if (hashes(ev) === before.hashes) continue;
          mattered++;
          expect(key(ev), `${name}: ${p.join('.')}.${field} changes grouping but not the key`).not.toBe(before.key);
        }
      }
    }
    // The check ran on real cases: many changes, and many that changed grouping.
    expect(checked).toBeGreaterThan(2000);
    expect(mattered).toBeGreaterThan(300);
  });

  it('leaves out what grouping never reads: locals, source context, addresses', () => {
    let frames = 0;
    for (const { event } of inputs) {
      const { frames: paths } = targets(event);
      if (!paths.length) continue;
      const ev = clone(event);
      for (const p of paths) {
        Object.assign(at(ev, p), { vars: { secret: Math.random() }, pre_context: ['x'], post_context: ['y'], instruction_addr: '0x1234', symbol_addr: '0x1000', image_addr: '0x0' });
        frames++;
      }
      expect(key(ev)).toBe(key(event));
      expect(hashes(ev)).toBe(hashes(event));
    }
    expect(frames).toBeGreaterThan(100);
  });
});
