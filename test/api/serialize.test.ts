import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { sharedCorpus } from '../fixtures/corpus.js';
import { describeShared } from '../helpers/shared.js';
import { eventEntries, serializeEvent } from '../../src/api/serialize-event.js';

// The event serializer over the events Sentry itself stored (../shared/fixtures/sentry-normalized, not shipped):
// every interface becomes the entry Sentry's API shows, with camelCase frames and context lines.

const { dir: DIR, present } = sharedCorpus('sentry-normalized');
const files = present ? readdirSync(DIR).filter((f) => f.endsWith('.json')) : [];
const load = (f: string) => JSON.parse(readFileSync(join(DIR, f), 'utf8')) as Record<string, any>;
const facts = { projectId: 1, issueId: 5, tags: [['level', 'error']] as [string, string][], grouping: null, previousEventID: null, nextEventID: null, size: 10 };

describeShared('sentry-normalized', 'event serializer', () => {
  it.each(files)('%s', (f) => {
    const ev = load(f);
    const out = serializeEvent(ev, facts);
    expect(out.id).toBe(ev.event_id);
    expect(out.groupID).toBe('5');
    expect(out.title).toBe(ev.title);
    expect(out.dateCreated).toMatch(/^\d{4}-\d\d-\d\dT/);
    const types = out.entries.map((e) => e.type);
    if (ev.exception) {
      expect(types[0]).toBe('exception');
      const values = (out.entries[0]!.data as { values: { type: string; stacktrace: { frames: unknown[] } | null }[] }).values;
      expect(values.map((v) => v.type)).toEqual(ev.exception.values.map((v: { type: string }) => v.type));
    }
    if (ev.request) expect(types).toContain('request');
    if (ev.breadcrumbs?.values?.length) expect(types).toContain('breadcrumbs');
    if (ev.logentry || (typeof ev.message === 'string' && ev.message)) expect(types).toContain('message');
    expect(JSON.parse(JSON.stringify(out))).toEqual(out); // plain JSON
  });

  it('turns frames into Sentry’s API frames with numbered context lines', () => {
    const ev = load('python_zero_division.sentry-stored.json');
    const exc = eventEntries(ev)[0]!.data as { values: { stacktrace: { frames: Record<string, unknown>[]; hasSystemFrames: boolean } }[] };
    const f = exc.values[0]!.stacktrace.frames[0]!;
    expect(f).toMatchObject({ function: 'inner', module: 'django.core.handlers.exception', filename: 'django/core/handlers/exception.py', lineNo: 34, inApp: false });
    expect(f.absPath).toBe('/usr/local/lib/python3.8/site-packages/django/core/handlers/exception.py');
    expect((f.context as [number, string][]).find(([n]) => n === 34)![1]).toBe('            response = get_response(request)');
    expect((f.context as [number, string][])[0]![0]).toBe(29);
    // Sentry's rule: "system frames" only when some frames are in-app and some are not
    const inApp = exc.values[0]!.stacktrace.frames.map((x) => x.inApp === true);
    expect(exc.values[0]!.stacktrace.hasSystemFrames).toBe(inApp.includes(true) && inApp.includes(false));
    expect(eventEntries({ exception: { values: [{ type: 'E', stacktrace: { frames: [{ in_app: false }, { in_app: true }] } }] } }).map((e) => (e.data as any).values[0].stacktrace.hasSystemFrames)).toEqual([true]);
  });

  it('gives headers, cookies and query strings as pairs', () => {
    const out = eventEntries({ request: { url: 'http://x/a', method: 'GET', query_string: 'a=1&b=two%20words', headers: { Accept: 'text/html' }, cookies: 'sid=abc; theme=dark' } });
    expect(out[0]).toEqual({
      type: 'request',
      data: expect.objectContaining({ query: [['a', '1'], ['b', 'two words']], headers: [['Accept', 'text/html']], cookies: [['sid', 'abc'], ['theme', 'dark']] }),
    });
  });
});
