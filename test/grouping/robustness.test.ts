// Grouping must never throw, whatever the input: random JSON, wrongly-typed interfaces,
// huge and deeply nested values. A tiny seeded generator keeps failures reproducible.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { computeGrouping } from '../../src/grouping/index.js';
import { buildVariants } from '../../src/grouping/variants.js';

function rng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

const KEYS = [
  'exception', 'values', 'type', 'value', 'stacktrace', 'frames', 'function', 'raw_function', 'module',
  'filename', 'abs_path', 'package', 'platform', 'context_line', 'in_app', 'lineno', 'mechanism',
  'exception_id', 'parent_id', 'is_exception_group', 'synthetic', 'meta', 'ns_error', 'threads',
  'crashed', 'current', 'logentry', 'message', 'formatted', 'fingerprint', 'checksum', 'csp',
  'blocked_uri', 'violated_directive', 'effective_directive', 'hpkp', 'expectct', 'hostname', 'tags',
  'data', 'orig_in_app', 'sourcemap', 'sentry.interfaces.Exception', 'sentry.interfaces.Message',
];
const STRINGS = [
  '', 'javascript', 'native', 'cocoa', 'java', 'python', 'csharp', 'php', 'ruby', 'node', '{{ default }}',
  '{{ tags.x }}', 'https://a.example.com/x.js', 'file:///tmp/a.js', '<anonymous>', '[native code]',
  'std::vector<int>::push_back(int const&)', '-[Foo bar]', 'lambda$1', 'class@anonymous\u0000x::run',
  'Error', 'ChunkLoadError', "'self'", 'script-src', '0xdeadbeef', '\u0000', '\ud800', 'a'.repeat(300),
];

function randomValue(r: () => number, depth: number): unknown {
  const k = Math.floor(r() * 10);
  if (depth > 5 || k < 3) {
    const p = r();
    if (p < 0.5) return STRINGS[Math.floor(r() * STRINGS.length)];
    if (p < 0.6) return Math.floor(r() * 1e6) - 5e5;
    if (p < 0.7) return r() < 0.5;
    if (p < 0.8) return null;
    return NaN;
  }
  if (k < 6) return Array.from({ length: Math.floor(r() * 4) }, () => randomValue(r, depth + 1));
  const o: Record<string, unknown> = {};
  for (let i = Math.floor(r() * 5); i > 0; i--) o[KEYS[Math.floor(r() * KEYS.length)]!] = randomValue(r, depth + 1);
  return o;
}

function check(event: unknown, options?: Parameters<typeof computeGrouping>[1]) {
  // computeGrouping has a last-resort catch; the engine itself must not need it.
  if (typeof event === 'object' && event !== null && !Array.isArray(event)) {
    buildVariants(event as Record<string, unknown>, options ?? {});
  }
  const res = computeGrouping(event as Record<string, unknown>, options);
  expect(res.primaryHash).toMatch(/^[0-9a-f]{32}$/);
  expect(res.hashes[0]).toBe(res.primaryHash);
  for (const v of Object.values(res.variants)) expect(v.hash === null || typeof v.hash === 'string').toBe(true);
}

describe('robustness', () => {
  it('never throws on seeded random events', () => {
    const r = rng(1234567);
    for (let i = 0; i < 3000; i++) {
      const ev = randomValue(r, 0);
      check(ev);
      check({ exception: ev, threads: ev, stacktrace: ev, fingerprint: ev, logentry: ev, csp: ev });
    }
  });

  it('never throws on arbitrary JSON (fast-check)', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 6 }), (v) => {
        check(v);
        check({ exception: v });
        check({ exception: { values: [v] }, platform: 'native' });
        check({ threads: { values: [v] } });
        check({ stacktrace: { frames: [v, v] }, platform: 'javascript' });
      }),
      { numRuns: 300, seed: 42 },
    );
  });

  it('survives wrong types, nulls and odd shapes', () => {
    const cases: unknown[] = [
      null, undefined, 42, 'string', [], {}, { exception: null }, { exception: 'x' }, { exception: [null, 1, 'a'] },
      { exception: { values: null } }, { exception: { values: [{ stacktrace: { frames: null } }] } },
      { exception: { values: [{ type: 1, value: { nested: true }, stacktrace: { frames: [null, 1, { function: 5 }] } }] } },
      { threads: [{ crashed: true }] }, { threads: { values: [{ stacktrace: { frames: [{}] } }, { stacktrace: 1 }] } },
      { fingerprint: [null, {}, 1, true] }, { fingerprint: 'x' }, { checksum: 12 }, { checksum: {} },
      { message: { message: null, formatted: 5 } }, { logentry: 'plain' }, { csp: { blocked_uri: 5 } },
      { 'sentry.interfaces.Exception': { type: 'E', value: 'v' } }, { 'sentry.interfaces.Message': { message: 'm' } },
      { platform: {}, stacktrace: { frames: [{ function: 'x', data: null, in_app: 'yes' }] } },
    ];
    for (const c of cases) check(c);
    check({ message: 'x' }, { enhancements: '!!! not a rule\nfunction:x -group', fingerprintingRules: '-> nothing\n[' });
  });

  it('handles huge and deep inputs', () => {
    const frames = Array.from({ length: 5000 }, (_, i) => ({ function: `f${i % 7}`, module: 'm', in_app: i % 2 === 0 }));
    check({ exception: { values: [{ type: 'E', value: 'x'.repeat(200_000), stacktrace: { frames } }] } });
    let deep: Record<string, unknown> = {};
    const top = deep;
    for (let i = 0; i < 10_000; i++) deep = deep.data = {} as Record<string, unknown>;
    check({ exception: top, logentry: { message: '@'.repeat(100_000) + 'a.'.repeat(100_000) } });
    const many = Array.from({ length: 2000 }, (_, i) => ({ type: 'T', value: `v${i}`, mechanism: { exception_id: i, parent_id: i ? i - 1 : undefined, is_exception_group: true } }));
    check({ exception: { values: many } });
  });

  it('is deterministic', () => {
    const r = rng(99);
    for (let i = 0; i < 200; i++) {
      const ev = randomValue(r, 0) as Record<string, unknown>;
      expect(computeGrouping(ev)).toEqual(computeGrouping(JSON.parse(JSON.stringify(ev ?? null)) ?? ev));
    }
  });
});
