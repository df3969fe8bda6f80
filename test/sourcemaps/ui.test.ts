import { transform } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { normalizeEvent } from '../../src/protocol/event.js';
import { parseMap } from '../../src/sourcemaps/cache.js';
import { applySourceMaps, lineStarts } from '../../src/sourcemaps/symbolicate.js';
import { eventView } from '../../src/ui/event-view.js';

// The event page with source maps: the original frame with its source lines, the minified frames
// as sent behind a toggle, and a processing error shown on the frame whose file it names.

describe('event view of a symbolicated event', () => {
  it('shows the original source, the minified frames as sent, and errors beside their frame', async () => {
    const src = 'export function greet(name) {\n  throw new Error("no " + name);\n}\n';
    const out = await transform(src, { minify: true, sourcemap: 'external', sourcefile: 'src/greet.js', format: 'esm' });
    const fn = /function (\w+)\(/.exec(out.code)![1]!;
    const col = out.code.indexOf('throw') + 1;
    const ev = normalizeEvent({
      platform: 'javascript',
      exception: { values: [{ type: 'Error', value: 'no one', stacktrace: { frames: [
        { abs_path: 'https://h/static/other.min.js', function: 'x', lineno: 1, colno: 5, in_app: true },
        { abs_path: 'https://h/static/app.min.js', function: fn, lineno: 1, colno: col, in_app: true },
      ] } }] },
    }, { receivedAt: new Date() });
    const map = parseMap(Buffer.from(out.map));
    if (map.kind !== 'map') throw new Error('map did not parse');
    applySourceMaps(ev, new Map([
      ['https://h/static/app.min.js', { ok: { map: map.map, mapUrl: '~/static/app.min.js.map', minified: { text: out.code, lineStarts: lineStarts(out.code) }, resolvedWith: 'release' as const } }],
      ['https://h/static/other.min.js', { error: { type: 'js_no_source', url: 'https://h/static/other.min.js', reason: 'no file with this URL was uploaded for release r' } }],
    ]));
    const page = String(eventView(ev as Record<string, unknown>));
    expect(page).toContain('<span class="fn mono">greet</span>');
    expect(page).toContain('static/src/greet.js:2:');
    expect(page).toContain('throw new Error(&quot;no &quot; + name);');
    expect(page).toContain('title="~/static/app.min.js.map">source map</span>');
    const raw = page.slice(page.indexOf('<details class="raw-stack">'));
    expect(raw).toContain('<summary>Minified frames, as sent</summary>');
    expect(raw).toContain(`<span class="fn mono">${fn}</span>`);
    expect(raw).toContain(`/static/app.min.js:1:${col}`);
    // the error sits in the frame of other.min.js (and in the list at the end)
    const otherFrame = page.slice(page.indexOf('<span class="fn mono">x</span>'), page.indexOf('<details class="raw-stack">'));
    expect(otherFrame).toContain('<div class="frame-error"><span class="mono">js_no_source</span> — no file with this URL was uploaded for release r</div>');
    expect(page).toContain('Processing errors');
  });
});
