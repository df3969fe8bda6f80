import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parameterize } from '../../src/grouping/parameterize.js';
import { compileGlob, globLimitError, GLOB_LIMITS } from '../../src/grouping/glob.js';
import { computeGrouping } from '../../src/grouping/index.js';
import { MAX_EXCEPTIONS, MAX_EXCEPTION_FRAMES, MAX_EXCEPTION_VALUE_CHARS, MAX_FRAMES, readExceptions } from '../../src/grouping/event.js';
import { parameterize as unboundedParameterize } from './reference/parameterize-unbounded.js';
import { globToRegExp } from './reference/glob-regexp.js';
import { hostileCases } from '../../bench/micro/hostile-events.js';

// Untrusted text meets only linear-time code (docs/SECURITY.md). Two kinds of property each:
//  - agreement: on ordinary inputs the linear code gives exactly what the backtracking code gave
//    (kept under ./reference/), so grouping hashes do not move;
//  - adversarial: inputs built from the runs a backtracking pattern rescans from every position.
//    These assert results only; what makes them fail on a quadratic or exponential matcher is the
//    test's own time limit (each such input cost the old code 0.1–34 s; the linear code runs the
//    whole property in about a second on the project's 2-core machine).

// Pieces of messages: words, numbers, addresses, dates, hex, quotes — with short runs only.
const piece = fc.oneof(
  fc.constantFrom('error', 'at', 'user', 'x', 'id=', 'name=', "'bob'", '"q"', 'true', 'False', '-', ':', '.', ',', ' ', '(', ')', '/', '@', '::', 'ms', 's'),
  fc.constantFrom('foo@example.com', 'db.example.com', 'a.b.c.d.e.example.co', '10.0.0.1', 'fe80::1%eth0', '2001:db8::1', 'https://x.io/a?b', '0xdeadbeef'),
  fc.constantFrom('2024-01-02T03:04:05.123Z', 'Mon Jan 02 2006 15:04:05 GMT+0100 (CET)', 'datetime.datetime(2020, 1, 2)', '12:30', '3pm', 'Tue, 3 Jun 2008 11:05:30 GMT'),
  fc.stringMatching(/^[0-9a-fA-F]{1,40}$/),
  fc.stringMatching(/^[a-z0-9.]{1,20}$/),
  fc.integer({ min: -1e9, max: 1e9 }).map(String),
  fc.double({ noNaN: true, noDefaultInfinity: true }).map((d) => d.toFixed(3)),
);
const message = fc.array(piece, { maxLength: 30 }).map((a) => a.join(''));
// Where the linear patterns differ by design (parameterize.ts): an e-mail local part over 64
// characters, a run of over 32 digits before `s`.
const ordinary = message.filter((m) => !/[a-zA-Z0-9.!#$%&'*+/=?^_`{|}~-]{65}/.test(m) && !/\d{33}/.test(m));

// Runs the old patterns rescanned from each position, up to the 8192 characters parameterized.
const run = fc.oneof(
  fc.integer({ min: 100, max: 8000 }).map((n) => 'a'.repeat(n) + ' x@b'),
  fc.integer({ min: 100, max: 8000 }).map((n) => '1'.repeat(n) + ' 1s'),
  fc.integer({ min: 50, max: 4000 }).map((n) => 'a.'.repeat(n) + 'x'),
  fc.integer({ min: 10, max: 450 }).map((n) => 'datetime.datetime('.repeat(n)),
  fc.integer({ min: 10, max: 230 }).map((n) => 'Mon Jan 02 2006 15:04:05 GMT+0100 ('.repeat(n)),
  fc.integer({ min: 100, max: 8000 }).map((n) => '-'.repeat(n) + '1'),
  fc.integer({ min: 100, max: 8000 }).map((n) => 'f'.repeat(n) + '0'),
);
const hostile = fc.tuple(message, run, message).map(([a, b, c]) => a + b + c);

describe('parameterization in linear time', () => {
  it('agrees with the backtracking patterns on ordinary messages', () => {
    fc.assert(fc.property(ordinary, (m) => {
      expect(parameterize(m)).toBe(unboundedParameterize(m));
    }), { numRuns: 3000, seed: 18 });
  });

  it('parameterizes adversarial runs (each cost the old patterns 0.05–0.2 s)', () => {
    fc.assert(fc.property(hostile, (m) => {
      const out = parameterize(m);
      // what is left besides placeholders comes from the input
      expect(out.replace(/<[a-z_0-9]+>/g, '').length).toBeLessThanOrEqual(m.length);
    }), { numRuns: 800, seed: 4 });
  }, 20_000);
});

// Glob patterns from an alphabet with every wildcard, and values from the same letters.
const globPattern = fc.array(fc.constantFrom('a', 'b', '/', '.', 'A', '*', '**', '?', '[ab]', '[!a]', '[a-c]', '\\*', '[', 'é', 'É'), { maxLength: 10 }).map((a) => a.join(''));
const globValue = fc.array(fc.constantFrom('a', 'b', 'c', '/', '.', 'A', 'B', '*', '[', 'é', 'É', 'ß'), { maxLength: 14 }).map((a) => a.join(''));

describe('glob matching in linear time', () => {
  for (const doublestar of [false, true]) {
    for (const ignoreCase of [false, true]) {
      it(`agrees with the regex it replaced (doublestar ${doublestar}, ignoreCase ${ignoreCase})`, () => {
        fc.assert(fc.property(globPattern, globValue, (p, v) => {
          expect(compileGlob(p, doublestar, ignoreCase).test(v)).toBe(globToRegExp(p, doublestar, ignoreCase).test(v));
        }), { numRuns: 4000, seed: 7 });
      });
    }
  }

  it('matches patterns of many wildcards against long runs (the old regex took 34 s for 200 characters)', () => {
    const stars = fc.integer({ min: 2, max: GLOB_LIMITS.stars });
    fc.assert(fc.property(stars, fc.integer({ min: 200, max: 20_000 }), fc.boolean(), (k, n, doublestar) => {
      const p = '*a'.repeat(k) + '*b';
      expect(compileGlob(p, doublestar, true).test('a'.repeat(n))).toBe(false);
      expect(compileGlob(p, doublestar, true).test('a'.repeat(n) + 'b')).toBe(true);
    }), { numRuns: 60, seed: 3 });
    // over 30 tokens the matcher keeps a set of states instead of bits: the same answers
    const long = '*a'.repeat(12) + '*' + 'x?'.repeat(5) + '*b';
    expect(compileGlob(long, false, false).test('a'.repeat(30) + 'xyxyxyxyxy' + 'a'.repeat(5000) + 'b')).toBe(true);
    expect(compileGlob(long, false, false).test('a'.repeat(30) + 'xyxyxyxyx' + 'a'.repeat(5000))).toBe(false);
  }, 20_000);

  it('says which limit a pattern is over', () => {
    expect(globLimitError('*a'.repeat(GLOB_LIMITS.stars))).toBeNull();
    expect(globLimitError('*a'.repeat(GLOB_LIMITS.stars + 1))).toMatch(/more than 16 wildcards/);
    expect(globLimitError('**/x/**')).toBeNull();
    expect(globLimitError('a'.repeat(GLOB_LIMITS.chars + 1))).toMatch(/longer than 256 characters/);
  });
});

describe('per-event caps', () => {
  it('reads at most MAX_EXCEPTIONS exceptions, MAX_EXCEPTION_VALUE_CHARS of values and MAX_EXCEPTION_FRAMES frames', () => {
    const frames = Array.from({ length: 1000 }, (_, i) => ({ function: `f${i}` }));
    const values = Array.from({ length: 100 }, (_, i) => ({ type: `E${i}`, value: 'v'.repeat(3000), stacktrace: { frames } }));
    const ex = readExceptions({ exception: { values } })!;
    expect(ex).toHaveLength(MAX_EXCEPTIONS);
    expect(ex.reduce((n, e) => n + (e.value?.length ?? 0), 0)).toBe(MAX_EXCEPTION_VALUE_CHARS);
    expect(ex.reduce((n, e) => n + (e.stacktrace?.frames.length ?? 0), 0)).toBe(MAX_EXCEPTION_FRAMES);
    // a long stack trace keeps its first and last halves
    const st = ex[0]!.stacktrace!.frames.map((f) => f.function);
    expect(st).toHaveLength(MAX_FRAMES);
    expect(st[0]).toBe('f0');
    expect(st[MAX_FRAMES - 1]).toBe('f999');
  });

  it('groups the micro-benchmark\'s pathological 1 MB events (the hang detector is this test\'s time limit)', () => {
    for (const c of hostileCases('t')) {
      const g = computeGrouping(JSON.parse(c.json) as Record<string, unknown>, c.options);
      expect(g.primaryHash).toMatch(/^[0-9a-f]{32}$/);
      expect(g.variants.fallback?.hint ?? '').not.toBe('grouping failed');
    }
  }, 20_000);
});
