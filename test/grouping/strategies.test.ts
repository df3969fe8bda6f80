import { describe, expect, it } from 'vitest';
import { computeGrouping } from '../../src/grouping/index.js';
import { hashValues } from '../../src/grouping/hash.js';
import { normalizeBlockedUri } from '../../src/grouping/security.js';

describe('other strategies', () => {
  it('template errors group by file and line, below stack traces', () => {
    const r = computeGrouping({ template: { filename: 'index.html', context_line: '{{ foo.bar }}' }, message: 'x' });
    expect(r.variants.default!.hash).toBe(hashValues(['index.html', '{{ foo.bar }}']));
  });

  it('security reports', () => {
    const csp = computeGrouping({ csp: { effective_directive: 'img-src', blocked_uri: 'https://cdn.example.com/a.png' } });
    expect(csp.primaryHash).toBe(hashValues(['img-src', 'cdn.example.com']));
    const inline = computeGrouping({ csp: { effective_directive: 'script-src', blocked_uri: '', violated_directive: "script-src 'unsafe-inline'" } });
    expect(inline.primaryHash).toBe(hashValues(['script-src', "'unsafe-inline'"]));
    expect(computeGrouping({ hpkp: { hostname: 'a.example.com' } }).primaryHash).toBe(hashValues(['hpkp', 'a.example.com']));
    expect(computeGrouping({ expectct: { hostname: 'a.example.com' } }).primaryHash).toBe(hashValues(['expect-ct', 'a.example.com']));
    expect(computeGrouping({ expectstaple: { hostname: 'a.example.com' } }).primaryHash).toBe(hashValues(['expect-staple', 'a.example.com']));
  });

  it('messages use the template, not the formatted text; nothing usable falls back', () => {
    const a = computeGrouping({ logentry: { message: 'User %s failed', formatted: 'User bob failed' } });
    expect(a.primaryHash).toBe(hashValues(['User %s failed']));
    const f = computeGrouping({});
    expect(f.variants.fallback!.hash).toBe('d41d8cd98f00b204e9800998ecf8427e');
  });
});

describe('CSP blocked URIs', () => {
  it.each([
    ['', "'self'"],
    ['self', "'self'"],
    ["'self'", "'self'"],
    ['https://cdn.example.com/a.js', 'cdn.example.com'],
    ['http://user@Example.com:8080/x', 'user@Example.com:8080'],
    ['data', 'data:'],
    ['data:image/png;base64,xx', 'data:'],
    ['blob:https://example.com/uuid', 'blob:'],
    ['chrome-extension://abcdef/script.js', 'chrome-extension://abcdef'],
    ['eval', 'eval:'],
    ['file', 'file://'],
  ])('%s -> %s', (input, expected) => {
    expect(normalizeBlockedUri(input)).toBe(expected);
  });
});
