// valueHash is the digest's grouping cache key (src/grouping/value-hash.ts): two values must get the
// same hash exactly when their JSON is the same, or two events that group differently would share a
// cached result.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { valueHash } from '../../src/grouping/value-hash.js';

const json = fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.parse(JSON.stringify(v)) as unknown);

describe('valueHash', () => {
  it('is the same for values with the same JSON, built apart', () => {
    fc.assert(fc.property(json, (v) => {
      expect(valueHash(JSON.parse(JSON.stringify(v)))).toBe(valueHash(v));
    }), { numRuns: 500 });
  });

  it('differs for values whose JSON differs', () => {
    fc.assert(fc.property(json, json, (a, b) => {
      expect(valueHash(a) === valueHash(b)).toBe(JSON.stringify(a) === JSON.stringify(b));
    }), { numRuns: 2000 });
  });

  it('keeps structure apart from content: no two of these collide', () => {
    const values: unknown[] = [
      null, '', 'null', 0, '0', 1, 1.5, -1, true, false, 'true', [], {}, [null], [[]], [{}], [''], ['', ''],
      ['ab', 'c'], ['a', 'bc'], ['abc'], 'abc', [1, [2]], [[1], 2], [1, 2], { a: 'b' }, ['a', 'b'], { a: { b: 1 } }, { a: [] },
      { a: 1, b: 2 }, { ab: 1 }, { a: null }, 'a\u0000', 'a', '\u0000a', 'é', 'e\u0301', '\ud83d\ude00', 'x'.repeat(1000), 'x'.repeat(1001),
    ];
    const seen = new Map<string, unknown>();
    for (const v of values) {
      const h = valueHash(v);
      expect(seen.has(h), `${JSON.stringify(v)} collides with ${JSON.stringify(seen.get(h))}`).toBe(false);
      seen.set(h, v);
    }
  });

  it('changes with any one changed character of a long string (every position)', () => {
    const base = Array.from({ length: 301 }, (_, i) => String.fromCharCode(97 + (i % 26))).join('');
    const seen = new Set([valueHash(['frame', base])]);
    for (let i = 0; i < base.length; i++) seen.add(valueHash(['frame', base.slice(0, i) + 'Z' + base.slice(i + 1)]));
    expect(seen.size).toBe(base.length + 1);
  });
});
