import { describe, expect, it } from 'vitest';
import { computeGrouping } from '../../src/grouping/index.js';
import { hashValues } from '../../src/grouping/hash.js';
import { getDefaultRules, parseRule, parseRules, InvalidRulesError } from '../../src/grouping/enhancers.js';
import { globMatch, pathLikeMatch } from '../../src/grouping/glob.js';
import { trimNativeFunctionName } from '../../src/grouping/functions.js';

describe('stack-trace rule parser', () => {
  it('parses matchers, ranges, caller/callee and variables', () => {
    const r = parseRule('[ category:ui ] | family:native !function:_purecall | [ app:no ] ^-group v+app category=internals');
    expect(r.matchers.map((m) => m.kind)).toEqual(['caller', 'frame', 'frame', 'callee']);
    expect(r.matchers[2]!.m).toMatchObject({ key: 'function', pattern: '_purecall', negated: true });
    expect(r.actions).toEqual([
      { kind: 'flag', key: 'group', flag: false, range: 'up' },
      { kind: 'flag', key: 'app', flag: true, range: 'down' },
      { kind: 'var', name: 'category', value: 'internals' },
    ]);
    expect(parseRule('stack.function:"foo bar" -group').matchers[0]!.m.pattern).toBe('foo bar');
  });

  it('rejects bad rules, or skips them when lenient', () => {
    expect(() => parseRule('function:x')).toThrow(InvalidRulesError);
    expect(() => parseRule('nonsense:x -group')).toThrow(InvalidRulesError);
    expect(parseRules('function:x -group\nbad line\n# comment', true)).toHaveLength(1);
  });

  it('loads the built-in rule set', () => {
    expect(getDefaultRules().length).toBeGreaterThan(250);
  });
});

describe('glob', () => {
  it('matches like the reference rules do', () => {
    expect(globMatch('io.sentry.core.Hub', 'io.sentry.*')).toBe(true);
    expect(globMatch('[KSCrash foo]', '?[[]KSCrash*')).toBe(false);
    expect(globMatch('-[KSCrash foo]', '?[[]KSCrash*')).toBe(true);
    expect(pathLikeMatch('app/node_modules/x/y.js', '**/node_modules/**')).toBe(true);
    expect(pathLikeMatch('c:\\app\\vendor\\x.php', '**/vendor/**')).toBe(true);
    expect(pathLikeMatch('/a/b.js', '/a/*/b.js')).toBe(false);
  });
});

describe('native function names', () => {
  it.each([
    ['std::vector<int>::push_back(int const&) const', 'std::vector<T>::push_back'],
    ['void foo::bar<lambda_5db8e1234567890abcdef0123456789a>::operator()(int)', 'foo::bar<lambda>::operator()'],
    ['?A0x1234abcd::helper', "`anonymous namespace'::helper"],
    ['<Foo as core::fmt::Debug>::fmt', 'Foo::fmt'],
    ['core::panicking::panic::h0123456789abcdef', 'core::panicking::panic'],
    ['memcpy@GLIBC_2.14', 'memcpy'],
    ['-[Foo bar:]', '-[Foo bar:]'],
    ['foo(int) [clone .cold]', 'foo'],
  ])('%s', (input, expected) => {
    expect(trimNativeFunctionName(input, 'native')).toBe(expected);
  });
});

describe('rules applied to events', () => {
  const frames = [
    { function: 'runApp', filename: '/srv/app/main.js', in_app: true },
    { function: 'handle', filename: '/srv/app/handler.js', in_app: true },
  ];
  it('project rules can take frames out of grouping and out of app', () => {
    const ev = { platform: 'javascript', exception: { values: [{ type: 'E', value: 'v', stacktrace: { frames } }] } };
    const base = computeGrouping(ev);
    expect(base.variants.app!.hash).toBe(hashValues(['main.js', 'runApp', 'handler.js', 'handle', 'E']));
    const r = computeGrouping(ev, { enhancements: 'stack.function:runApp -group' });
    expect(r.variants.app!.hash).toBe(hashValues(['handler.js', 'handle', 'E']));
    const r2 = computeGrouping(ev, { enhancements: 'stack.function:handle -app' });
    expect(r2.variants.app!.hash).toBe(hashValues(['main.js', 'runApp', 'E']));
    expect(r2.variants.system!.hash).toBe(base.variants.app!.hash);
  });

  it('node_modules frames are not in-app; identical consecutive frames are recursion', () => {
    const ev = {
      platform: 'node',
      exception: {
        values: [{
          type: 'E', value: 'v',
          stacktrace: {
            frames: [
              { function: 'lib', filename: '/app/node_modules/lib/index.js', in_app: true },
              { function: 'mine', filename: '/app/src/a.js', lineno: 3 },
              { function: 'mine', filename: '/app/src/a.js', lineno: 3 },
            ],
          },
        }],
      },
    };
    const r = computeGrouping(ev);
    expect(r.variants.app!.hash).toBe(null);
    expect(r.variants.system!.hash).toBe(hashValues(['index.js', 'lib', 'a.js', 'mine', 'E']));
  });
});
