import { describe, expect, it } from 'vitest';
import { computeGrouping } from '../../src/grouping/index.js';
import { hashValues } from '../../src/grouping/hash.js';

type Ex = { type: string; value: string; id?: number; parent?: number; group?: boolean };
const ev = (exs: Ex[]) => ({
  platform: 'csharp',
  exception: {
    values: exs.map((e) => ({
      type: e.type,
      value: e.value,
      mechanism: {
        type: 'chained',
        ...(e.id !== undefined ? { exception_id: e.id } : {}),
        ...(e.parent !== undefined ? { parent_id: e.parent } : {}),
        ...(e.group ? { is_exception_group: true } : {}),
      },
    })),
  },
});
const appHash = (exs: Ex[]) => computeGrouping(ev(exs)).variants.app!.hash;
const root: Ex = { type: 'System.AggregateException', value: 'One or more errors occurred.', id: 0, group: true };

describe('exception groups', () => {
  it('a group of identical exceptions groups like that single exception', () => {
    const inner: Ex = { type: 'MyApp.Exception', value: 'Test 1', id: 1, parent: 0 };
    const copies = [inner, { ...inner, id: 2 }, { ...inner, id: 3 }, root];
    expect(appHash(copies)).toBe(appHash([{ ...inner, id: undefined, parent: undefined }]));
    expect(appHash(copies)).toBe(hashValues(['MyApp.Exception', 'Test <int>']));
  });

  it('different exceptions keep one of each plus the root, sorted by type', () => {
    const a: Ex = { type: 'A', value: 'a', id: 1, parent: 0 };
    const b: Ex = { type: 'B', value: 'b', id: 2, parent: 0 };
    expect(appHash([a, b, root])).toBe(hashValues(['B', 'b', 'A', 'a', root.type, root.value]));
    expect(appHash([b, a, root])).toBe(appHash([a, b, root]));
  });

  it('nested groups are looked through', () => {
    const inner: Ex = { type: 'A', value: 'a', id: 2, parent: 1 };
    const mid: Ex = { type: 'Group', value: 'g', id: 1, parent: 0, group: true };
    expect(appHash([inner, mid, root])).toBe(hashValues(['A', 'a']));
  });

  it('broken trees never throw and fall back sensibly', () => {
    // missing root: plain chain
    const chain: Ex[] = [{ type: 'A', value: 'a', id: 1, parent: 2 }, { type: 'B', value: 'b', id: 2, parent: 1 }];
    expect(appHash(chain)).toBe(hashValues(['A', 'a', 'B', 'b']));
    // cycle below the root: only the root remains
    expect(appHash([...chain, root])).toBe(hashValues([root.type, root.value]));
    // no ids at all: plain chain
    expect(appHash([{ type: 'A', value: 'a' }, { type: 'B', value: 'b' }])).toBe(hashValues(['A', 'a', 'B', 'b']));
    // a group that contains itself
    expect(() => computeGrouping(ev([{ ...root, parent: 0 }, root]))).not.toThrow();
  });

  it('chained exceptions hash stack traces first, then type; value only without stack trace', () => {
    const r = computeGrouping({
      platform: 'python',
      exception: [
        { type: 'KeyError', value: 'k1', stacktrace: { frames: [{ function: 'f', module: 'm', in_app: true }] } },
        { type: 'ValueError', value: 'v 12' },
      ],
    });
    expect(r.variants.app!.hash).toBe(hashValues(['m', 'f', 'KeyError', 'ValueError', 'v <int>']));
  });

  it('synthetic exception types and ns-error info', () => {
    const synthetic = computeGrouping({ exception: { type: 'SIGSEGV', value: 'x', mechanism: { type: 'signal', synthetic: true } } });
    expect(synthetic.variants.app!.hash).toBe(hashValues(['x']));
    const ns = computeGrouping({
      platform: 'cocoa',
      exception: { values: [{ type: 'NSError', value: 'Code=7', mechanism: { type: 'ns', meta: { ns_error: { domain: 'Net', code: 7 } } } }] },
    });
    expect(ns.variants.app!.hash).toBe(hashValues(['NSError', 'Net', '7']));
  });
});

describe('SDK-shaped exceptions', () => {
  it('splits "Type: message" when the type is missing, drops empty exceptions', () => {
    const a = computeGrouping({ exception: { values: [{ value: 'ValueError: bad 1' }] } });
    const b = computeGrouping({ exception: { values: [{ type: 'ValueError', value: 'bad 2' }] } });
    expect(a.primaryHash).toBe(b.primaryHash);
    const c = computeGrouping({ exception: { values: [{ stacktrace: { frames: [{ function: 'f' }] } }] }, message: 'm' });
    expect(c.variants.default!.hash).toBe(hashValues(['m']));
  });

  it('frames with only a URL filename use its path', () => {
    const mk = (filename: string) =>
      computeGrouping({ platform: 'python', exception: { values: [{ type: 'E', value: 'v', stacktrace: { frames: [{ filename, function: 'f', in_app: true }] } }] } });
    expect(mk('file:///srv/static/app.py?v=3').primaryHash).toBe(hashValues(['app.py', 'f', 'E']));
  });
});
