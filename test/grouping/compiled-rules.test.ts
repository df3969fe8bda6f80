// The compiled stack-trace rules (compiled-rules.ts) must give exactly what interpreting every
// rule against every frame gives (enhancers.ts: classifyFrames, matchingFrames): same in-app flags,
// same categories, same contribution hits — on the first sight of a frame and from the frame cache.
// Frames are built from the values the rules themselves name, so that most rules fire somewhere.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  classifyFrames, getDefaultRules, matchingFrames, parseRules,
  type ExceptionData, type MatchFrame, type Rule,
} from '../../src/grouping/enhancers.js';
import { classifyCompiled, compileRules, contributionHits, stackCandidates } from '../../src/grouping/compiled-rules.js';
import { trimFunctionName, trimNativeFunctionName } from '../../src/grouping/functions.js';
import { pathLikeMatch } from '../../src/grouping/glob.js';

const PROJECT_RULES = parseRules(`
stack.function:runApp -app -group
[ function:main ] | function:handle* +app ^-group
function:handle* | [ !app:yes ] -group
error.type:ValueError stack.module:app.* +app
!error.value:boom* family:native,javascript function:std::* category=system
app:yes family:other module:com.* v-group
!family:native path:**/lib/** -app
stack.module:app.* max-frames=3
stack.function:deep* min-frames=4
family:all stack.package:libfoo* +app +group
`);

/** Values that a glob pattern matches (and near misses), for the frame field the matcher reads. */
function valuesFor(pattern: string): string[] {
  const base = pattern.replace(/\[\[\]/g, '[').replace(/\[!?[^\]]*\]/g, 'a');
  const filled = base.replace(/\*\*/g, 'lib/x').replace(/\*/g, 'Xy').replace(/\?/g, '-');
  // characters that case-fold to ASCII letters outside regular expressions (long s, Kelvin sign,
  // dotless i, dotted capital I) must not match an ASCII pattern
  const lookalike: Record<string, string> = { s: '\u017f', S: '\u017f', k: '\u212a', K: '\u212a', i: '\u0131', I: '\u0130' };
  const first = lookalike[filled.charAt(0)];
  return [filled, filled.toUpperCase(), filled.slice(0, -1), `${filled}/tail`, `/${filled}`, ...(first ? [first + filled.slice(1)] : [])];
}

const pools: Record<string, Set<string>> = { function: new Set(['<unknown>', 'main', 'handle', 'deep1', 'runApp']), module: new Set(['app.views']), package: new Set(), path: new Set() };
for (const rule of [...getDefaultRules(), ...PROJECT_RULES]) {
  for (const { m } of rule.matchers) {
    const pool = pools[m.key];
    if (pool) for (const v of valuesFor(m.pattern)) pool.add(m.key === 'path' || m.key === 'package' ? v.toLowerCase() : v);
  }
}
const pick = (key: string) => fc.constantFrom(...pools[key]!);
const orNull = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: null, freq: 3 });

const frameArb: fc.Arbitrary<MatchFrame> = fc.record({
  category: fc.constant(null),
  family: fc.constantFrom('native', 'javascript', 'other'),
  function: pick('function'),
  inApp: fc.constantFrom(true, false, null),
  module: orNull(pick('module')),
  package: orNull(pick('package')),
  path: orNull(pick('path')),
});
const exArb: fc.Arbitrary<ExceptionData | null> = fc.option(
  fc.record({ type: fc.constantFrom('ValueError', 'TypeError', undefined), value: fc.constantFrom('boom!', 'ok', 7), mechanism: fc.constant(null) }),
  { nil: null },
);

function reference(rules: Rule[], frames: MatchFrame[], ex: ExceptionData | null) {
  const fs = structuredClone(frames);
  classifyFrames(rules, fs, ex);
  const hits = rules.filter((r) => r.contributes).map((rule) => ({ rule, hits: matchingFrames(rule, fs, ex) })).filter((h) => h.hits.length);
  return { frames: fs, hits: hits.map((h) => [h.rule.text, h.hits]) };
}

function compiled(cr: ReturnType<typeof compileRules>, frames: MatchFrame[], ex: ExceptionData | null) {
  const fs = structuredClone(frames);
  const lists = stackCandidates(cr, fs);
  classifyCompiled(cr, fs, lists, ex);
  return { frames: fs, hits: contributionHits(cr, fs, lists, ex).map((h) => [h.rule.text, h.hits]) };
}

describe('compiled stack-trace rules', () => {
  const all = [...getDefaultRules(), ...PROJECT_RULES];
  const sets: Array<[string, Rule[], () => ReturnType<typeof compileRules>]> = [
    ['built-in rules', getDefaultRules(), () => compileRules(getDefaultRules())],
    ['built-in and project rules', all, () => compileRules(all)],
    // as the engine compiles a project's rules: on top of the compiled built-in ones
    ['project rules after compiled built-in rules', all, () => compileRules(PROJECT_RULES, compileRules(getDefaultRules()))],
  ];
  it.each(sets)('%s: same classification and contribution hits as the interpreter', (_name, rules, compile) => {
    const cr = compile();
    let fired = 0;
    fc.assert(
      fc.property(fc.array(frameArb, { maxLength: 12 }), exArb, (frames, ex) => {
        const want = reference(rules, frames, ex);
        if (want.hits.length || want.frames.some((f, i) => f.inApp !== frames[i]!.inApp || f.category !== null)) fired++;
        expect(compiled(cr, frames, ex)).toEqual(want); // frames seen for the first time (mostly)
        expect(compiled(cr, frames, ex)).toEqual(want); // every frame from the cache
      }),
      { numRuns: 400, seed: 7 },
    );
    // the generator must exercise the rules, or this test proves nothing
    expect(fired).toBeGreaterThan(200);
  });

  it('keeps the built-in rule order and skips rules that change nothing', () => {
    const rules = parseRules('function:a +prefix\nfunction:a -app\nfunction:a +app');
    const cr = compileRules(rules);
    expect(cr.plans.map((p) => p.rule.text)).toEqual(['function:a -app', 'function:a +app']);
    const frames: MatchFrame[] = [{ category: null, family: 'other', function: 'a', inApp: null, module: null, package: null, path: null }];
    classifyCompiled(cr, frames, stackCandidates(cr, frames), null);
    expect(frames[0]!.inApp).toBe(true);
  });
});

describe('cached native function names', () => {
  it('are trimmed as without the cache, per platform, first and again', () => {
    const names = ['thunk for @escaping @callee_guaranteed () -> ()', 'std::vector<int>::push_back(int const&) const', 'foo @bar', 'x'.repeat(300) + '(int)'];
    for (let round = 0; round < 2; round++) {
      for (const n of names) {
        for (const platform of ['swift', 'cocoa', 'native', 'c']) expect(trimFunctionName(n, platform)).toBe(trimNativeFunctionName(n, platform));
      }
    }
    // the platform matters for Swift closures, so the cache must keep them apart
    expect(trimFunctionName(names[0]!, 'swift')).toBe('thunk for closure');
    expect(trimFunctionName(names[0]!, 'native')).toBe('@callee_guaranteed');
  });
});

describe('path and package matchers', () => {
  it('match like pathLikeMatch (backslashes as slashes, relative values also tried with a leading slash)', () => {
    let matched = 0;
    for (const rule of getDefaultRules()) {
      for (const { m } of rule.matchers) {
        if (m.key !== 'path' && m.key !== 'package') continue;
        const single = parseRules(`${m.key}:"${m.pattern}" -app`)[0]!;
        for (const v of [...pools[m.key]!].slice(0, 40).flatMap((x) => [x, x.replace(/\//g, '\\'), x.replace(/^\/+/, ''), `\\${x}`])) {
          const frame: MatchFrame = { category: null, family: 'native', function: 'f', inApp: null, module: null, package: v, path: v };
          const want = pathLikeMatch(v, m.pattern);
          if (want) matched++;
          expect(matchingFrames(single, [frame], null).length === 1, `${m.pattern} ~ ${v}`).toBe(want);
        }
      }
    }
    expect(matched).toBeGreaterThan(50);
  });
});
