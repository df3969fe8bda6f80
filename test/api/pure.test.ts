import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { parseSearch } from '../../src/api/search.js';
import { base32Decode, base32Encode, parseShortId, shortId } from '../../src/api/short-id.js';
import { formatCursor, linkHeader, offsetPage, pageLinks, parseCursor } from '../../src/api/pagination.js';
import { parsePeriod } from '../../src/api/period.js';

describe('search syntax', () => {
  it('parses filters, negation, quotes, lists and free text', () => {
    expect(parseSearch('is:unresolved level:error !environment:prod release:"1.0 beta" browser:Chrome TypeError "x is undefined"')).toEqual({
      filters: [
        { key: 'is', values: ['unresolved'], negate: false },
        { key: 'level', values: ['error'], negate: false },
        { key: 'environment', values: ['prod'], negate: true },
        { key: 'release', values: ['1.0 beta'], negate: false },
        { key: 'browser', values: ['Chrome'], negate: false },
      ],
      text: ['TypeError', 'x is undefined'],
    });
  });
  it('reads lists, tags[...] keys, escaped quotes, and leaves odd input as text', () => {
    expect(parseSearch('level:[error, "fatal"] tags[server.name]:web-1 msg:"say \\"hi\\""')).toEqual({
      filters: [
        { key: 'level', values: ['error', 'fatal'], negate: false },
        { key: 'server.name', values: ['web-1'], negate: false },
        { key: 'msg', values: ['say "hi"'], negate: false },
      ],
      text: [],
    });
    expect(parseSearch('key: http://x !word')).toEqual({ filters: [{ key: 'http', values: ['//x'], negate: false }], text: ['key:', '!word'] });
    expect(parseSearch('')).toEqual({ filters: [], text: [] });
    expect(parseSearch('"unterminated quote')).toEqual({ filters: [], text: ['unterminated quote'] });
  });
  it('never throws and loses no non-space character', () => {
    fc.assert(
      fc.property(fc.string(), (s) => {
        const p = parseSearch(s);
        expect(p.filters.every((f) => f.key.length > 0)).toBe(true);
      }),
    );
  });
});

describe('short ids', () => {
  it('uses Sentry’s base 32 without I, L, O, U', () => {
    expect(base32Encode(1)).toBe('1');
    expect(base32Encode(31)).toBe('Z');
    expect(base32Encode(32)).toBe('10');
    expect(base32Encode(42)).toBe('1A');
    expect(shortId('my-app', 42)).toBe('MY-APP-1A');
    expect(parseShortId('MY-APP-1A')).toEqual({ slug: 'my-app', counter: 42 });
    expect(base32Decode('1o')).toBe(32); // O read as 0
    expect(parseShortId('MY-APP-U')).toBeNull();
    fc.assert(fc.property(fc.nat(), (n) => base32Decode(base32Encode(n)) === n));
  });
});

describe('cursors and Link headers', () => {
  it('round-trips cursors and rejects garbage with 400', () => {
    expect(parseCursor('')).toBeNull();
    expect(parseCursor(formatCursor({ value: 1700000000000, id: 5, isPrev: true }))).toEqual({ value: 1700000000000, id: 5, isPrev: true });
    expect(() => parseCursor('x')).toThrow(/invalid cursor/);
  });
  it('writes both directions with results flags, as Sentry does', () => {
    const rows = [{ v: 9, id: 3 }, { v: 8, id: 2 }];
    const links = pageLinks(rows, (r) => ({ value: r.v, id: r.id }), null, true);
    const h = linkHeader(new URL('http://x/api/0/projects/o/p/issues/?query=is%3Aunresolved&cursor=old'), links);
    expect(h).toBe(
      '<http://x/api/0/projects/o/p/issues/?query=is%3Aunresolved&cursor=9%3A3%3A1>; rel="previous"; results="false"; cursor="9:3:1", ' +
        '<http://x/api/0/projects/o/p/issues/?query=is%3Aunresolved&cursor=8%3A2%3A0>; rel="next"; results="true"; cursor="8:2:0"',
    );
  });
  it('pages small lists by offset', () => {
    const all = [1, 2, 3, 4, 5];
    const a = offsetPage(all, null, 2);
    expect(a.rows).toEqual([1, 2]);
    expect(a.links.hasNext).toBe(true);
    const b = offsetPage(all, a.links.next, 2);
    expect(b.rows).toEqual([3, 4]);
    const c = offsetPage(all, b.links.next, 2);
    expect(c.rows).toEqual([5]);
    expect(c.links.hasNext).toBe(false);
    expect(offsetPage(all, c.links.prev, 2).rows).toEqual([3, 4]);
  });
});

describe('statsPeriod', () => {
  it('parses units; empty is all time', () => {
    expect(parsePeriod('24h')).toBe(86_400_000);
    expect(parsePeriod('14d')).toBe(14 * 86_400_000);
    expect(parsePeriod('')).toBeNull();
    expect(parsePeriod(null)).toBeNull();
    expect(() => parsePeriod('soon')).toThrow(/statsPeriod/);
  });
});
