import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SDK_PAYLOADS } from '../fixtures/corpus.js';
import { describe, expect, it } from 'vitest';
import { normalizeEvent } from '../../src/protocol/event.js';
import { eventView, groupingView } from '../../src/ui/event-view.js';
import { escapeHtml } from '../../src/ui/html.js';
import { listOf } from '../../src/ui/values.js';

// The event page's body, rendered from events as the digest normalizes them: every store-event
// fixture of the shared corpus, and hand-made shapes for the parts that need exact checks.

const FIXTURES = SDK_PAYLOADS;

function storeEvents(): { name: string; json: Record<string, unknown> }[] {
  const out: { name: string; json: Record<string, unknown> }[] = [];
  for (const dir of readdirSync(FIXTURES, { withFileTypes: true })) {
    if (!dir.isDirectory()) continue;
    for (const f of readdirSync(join(FIXTURES, dir.name))) {
      if (!f.endsWith('.json') || f.endsWith('.request.json')) continue;
      let j: unknown;
      try {
        j = JSON.parse(readFileSync(join(FIXTURES, dir.name, f), 'utf8'));
      } catch {
        continue;
      }
      if (j && typeof j === 'object' && !Array.isArray(j) && ('exception' in j || 'message' in j || 'logentry' in j || 'threads' in j)) out.push({ name: `${dir.name}/${f}`, json: j as Record<string, unknown> });
    }
  }
  return out;
}

const count = (s: string, needle: string) => s.split(needle).length - 1;

describe('event view over the SDK corpus', () => {
  const events = storeEvents();
  it('finds the corpus', () => expect(events.length).toBeGreaterThan(20));

  for (const { name, json } of events) {
    it(`renders ${name}`, () => {
      const ev = normalizeEvent(json, { receivedAt: new Date() }) as Record<string, unknown>;
      const out = eventView(ev as never).text;
      const exceptions = listOf(ev.exception);
      for (const e of exceptions) {
        if (typeof e.type === 'string' && e.type) expect(out).toContain(escapeHtml(e.type));
        if (typeof e.value === 'string' && e.value) expect(out).toContain(escapeHtml(e.value));
      }
      // one frame element per frame of every exception, in-app ones marked
      const frames = exceptions.flatMap((e) => listOf((e.stacktrace as { frames?: unknown })?.frames ?? []));
      if (frames.length) {
        expect(count(out, 'class="frame')).toBeGreaterThanOrEqual(frames.length);
        expect(count(out, 'class="frame in-app"')).toBeGreaterThanOrEqual(frames.filter((f) => f.in_app === true).length);
      }
      expect(out).not.toMatch(/<script/i);
    });
  }
});

describe('event view details', () => {
  const frame = (fn: string, inApp: boolean, extra: Record<string, unknown> = {}) => ({ function: fn, filename: `${fn}.py`, lineno: 10, in_app: inApp, ...extra });

  it('shows chained exceptions most recent first, the rest as causes', () => {
    const out = eventView({ exception: { values: [{ type: 'KeyError', value: 'root cause' }, { type: 'ValueError', value: 'outer' }] } }).text;
    expect(out.indexOf('ValueError')).toBeLessThan(out.indexOf('KeyError'));
    expect(count(out, 'Caused by')).toBe(1);
    expect(out).toContain('2 chained, most recent first');
  });

  it('shows the most recent frame first, folds runs of system frames, opens the first in-app frame', () => {
    const st = { frames: [frame('main', false), frame('lib_a', false), frame('handler', true, { context_line: 'x = 1', pre_context: ['a', 'b'], post_context: ['c'], vars: { x: '1' } }), frame('helper', true, { context_line: 'y()' }), frame('lib_b', false)] };
    const out = eventView({ exception: [{ type: 'E', value: 'v', stacktrace: st }] }).text;
    const order = ['lib_b', 'helper', 'handler', 'lib_a', 'main'].map((f) => out.indexOf(`>${f}</span>`));
    expect(order).toEqual([...order].sort((a, b) => a - b));
    expect(count(out, '<details class="system-group">')).toBe(2); // [lib_b] and [lib_a, main]
    expect(out).toContain('<summary>2 system frames</summary>');
    expect(out).toContain('<summary>1 system frame</summary>');
    // helper is the most recent in-app frame: open; handler is closed but keeps its source and variables
    expect(out).toMatch(/<details class="frame in-app" open><summary><span class="fn mono">helper/);
    expect(out).toMatch(/<details class="frame in-app"><summary><span class="fn mono">handler/);
    expect(out).toContain('<li><span class="ln">8</span>a</li><li><span class="ln">9</span>b</li><li class="cur"><span class="ln">10</span>x = 1</li><li><span class="ln">11</span>c</li>');
    expect(out).toContain('<h3>Local variables</h3>');
  });

  it('shows every frame unfolded when none is in-app', () => {
    const out = eventView({ exception: [{ type: 'E', stacktrace: { frames: [frame('a', false), frame('b', false)] } }] }).text;
    expect(out).not.toContain('system-group');
    expect(count(out, 'class="frame"')).toBe(2);
  });

  it('reads tags as a map or as pairs, breadcrumbs as a list or {values}', () => {
    const a = eventView({ tags: { 'server.name': 'web-1' }, breadcrumbs: [{ message: 'clicked', category: 'ui' }] }).text;
    const b = eventView({ tags: [['server.name', 'web-1']], breadcrumbs: { values: [{ message: 'clicked', category: 'ui' }] } }).text;
    for (const out of [a, b]) {
      expect(out).toContain('<td>server.name</td><td>web-1</td>');
      expect(out).toContain('<div>clicked</div>');
    }
  });

  it('explains grouping: the variant whose hash is the primary one decides, open; ignored components say why', () => {
    const out = groupingView({
      config: 'newstyle:2023-01-11',
      primary_hash: 'aaa',
      variants: {
        app: { hash: 'aaa', contributes: true, component: { id: 'app', contributes: true, values: [{ id: 'function', contributes: false, hint: 'ignored unknown function', values: ['?'] }] } },
        system: { hash: 'bbb', contributes: true },
      },
    }).text;
    expect(out).toMatch(/<details class="snippet grouping-variant" open><summary>app: decides the issue/);
    expect(out).toMatch(/<details class="snippet grouping-variant"><summary>system: contributes, not used/);
    expect(out).toContain('(ignored: ignored unknown function)');
  });
});
