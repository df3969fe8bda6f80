import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { escapeHtml, html, join, trusted } from '../../src/ui/html.js';
import { safeNext } from '../../src/ui/http.js';

describe('html escaping', () => {
  it('escapes every interpolated string, in text and in attributes', () => {
    const evil = `<script>alert(1)</script><img src=x onerror="alert('x')">\`&`;
    const out = html`<p title="${evil}">${evil}</p>`.text;
    expect(out).toBe(
      '<p title="&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=&quot;alert(&#39;x&#39;)&quot;&gt;&#96;&amp;">' +
        '&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=&quot;alert(&#39;x&#39;)&quot;&gt;&#96;&amp;</p>',
    );
  });

  it('escapes inside arrays and nested templates, but not markup built by the tag itself', () => {
    const items = ['<b>', 'a&b'];
    expect(html`<ul>${items.map((i) => html`<li>${i}</li>`)}</ul>`.text).toBe('<ul><li>&lt;b&gt;</li><li>a&amp;b</li></ul>');
    expect(join(['<x>', html`<y>`], ', ').text).toBe('&lt;x&gt;, <y>');
    expect(html`${trusted('<hr>')}`.text).toBe('<hr>');
  });

  it('renders null, undefined and false as nothing, numbers as text', () => {
    expect(html`[${null}${undefined}${false}${0}${12.5}]`.text).toBe('[012.5]');
  });

  it('never lets a markup character through, whatever the input', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (s) => {
        const out = html`${s}`.text;
        expect(out).not.toMatch(/[<>"'`]/);
        // & only as the start of one of our entities
        expect(out.replace(/&(amp|lt|gt|quot|#39|#96);/g, '')).not.toContain('&');
        expect(out).toBe(escapeHtml(s));
      }),
    );
  });
});

describe('redirect targets', () => {
  it('keep local paths and refuse anything a browser could read as another site', () => {
    expect(safeNext('/projects/a/issues?q=x%20y')).toBe('/projects/a/issues?q=x%20y');
    for (const bad of ['//evil.example', '/\\evil.example', '/\t/evil.example', '/\n/evil.example', 'https://evil.example', 'evil', '', null, '/ /x', '/a\\b']) {
      expect(safeNext(bad), JSON.stringify(bad)).toBe('/');
    }
  });
});
