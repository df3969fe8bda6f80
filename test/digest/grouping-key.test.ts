import { expect, test } from 'vitest';
import { groupForDigest } from '../../src/digest/group.js';
import type { ProjectRules } from '../../src/digest/project-rules.js';
import { computeGrouping } from '../../src/grouping/index.js';
import { normalizeEvent } from '../../src/protocol/event.js';

// The digest's grouping cache key leaves out logger, level, release, transaction and tags unless a
// fingerprint rule in force, or the event's own fingerprint, reads them (src/digest/group.ts). Each
// case sends events that differ only in those fields, in an order where a key that wrongly left a
// field out would answer from the cache with the previous event's hash; the digest's answer must
// always be what the grouping engine computes fresh.

let n = 0;
function event(over: Record<string, unknown>): ReturnType<typeof normalizeEvent> {
  n++;
  return normalizeEvent({
    event_id: n.toString(16).padStart(32, '0'), platform: 'javascript', level: 'error', logger: 'app', release: 'web@1.0.0', transaction: '/checkout',
    tags: { route: '/checkout', customer: 'acme' },
    exception: { values: [{ type: 'TypeError', value: `cannot read x of undefined (${over.marker ?? 'm'})`, stacktrace: { frames: [{ filename: 'app.js', function: 'render', lineno: 3, in_app: true }] } }] },
    ...over,
  }, { receivedAt: new Date() });
}

function rules(fingerprintingRules: string, enhancements = ''): ProjectRules {
  return { fingerprintingRules, enhancements: enhancements || undefined, key: JSON.stringify([enhancements, fingerprintingRules]) };
}

function expectFresh(evs: ReturnType<typeof event>[], r?: ProjectRules): string[] {
  return evs.map((ev) => {
    const fresh = computeGrouping(structuredClone(ev), r ? { enhancements: r.enhancements, fingerprintingRules: r.fingerprintingRules } : {});
    const got = groupForDigest(ev, r);
    expect(got.primaryHash).toBe(fresh.primaryHash);
    expect(got.hashes).toEqual(fresh.hashes);
    return got.primaryHash;
  });
}

test('tags, release, level, logger and transaction no rule reads: one cached grouping for all of them', () => {
  const a = event({ marker: 'plain' });
  const first = groupForDigest(a);
  expect(first.explanation).not.toBeNull();
  const b = event({ marker: 'plain', tags: { route: '/cart', customer: 'globex' }, release: 'web@2.0.0', level: 'fatal', logger: 'other', transaction: '/cart' });
  const again = groupForDigest(b);
  // From the cache (no explanation built again), and the same hashes as a fresh computation.
  expect(again.explanation).toBeNull();
  expect(again.hashes).toEqual(computeGrouping(b).hashes);
  expect(again.primaryHash).toBe(first.primaryHash);
});

test('a project rule on a tag, on the release, on the level or the logger keys the cache on that field', () => {
  for (const [text, a, b] of [
    ['tags.route:"/cart" -> cart', { tags: { route: '/checkout' } }, { tags: { route: '/cart' } }],
    ['release:"web@2*" -> two', { release: 'web@1.0.0' }, { release: 'web@2.0.0' }],
    ['level:"warning" -> warn', { level: 'error' }, { level: 'warning' }],
    ['logger:"jobs" -> jobs', { logger: 'app' }, { logger: 'jobs' }],
    ['error.type:"TypeError" -> t, {{ transaction }}', { transaction: '/checkout' }, { transaction: '/cart' }],
    ['error.type:"TypeError" -> t, {{ tags.customer }}', { tags: { customer: 'acme' } }, { tags: { customer: 'globex' } }],
  ] as const) {
    const r = rules(text);
    const [ha, hb] = expectFresh([event({ marker: text, ...a }), event({ marker: text, ...b })], r);
    expect(ha).not.toBe(hb);
  }
});

test("the event's own fingerprint variables key the cache on the fields they name", () => {
  const fp = ['{{ default }}', '{{ tags.customer }}', '{{ level }}'];
  const [a, b, c] = expectFresh([
    event({ marker: 'fp', fingerprint: fp }),
    event({ marker: 'fp', fingerprint: fp, tags: { route: '/checkout', customer: 'globex' } }),
    event({ marker: 'fp', fingerprint: fp, level: 'warning' }),
  ]);
  expect(new Set([a, b, c]).size).toBe(3);
});

test('the built-in hydration-error rule reads tags.transaction: one issue per transaction tag, whatever the other tags', () => {
  const hydration = (transaction: string, route: string) => event({
    marker: 'hydration',
    exception: { values: [{ type: 'Error', value: 'Text content does not match server-rendered HTML.' }] },
    tags: { transaction, route },
  });
  const [a, b, c] = expectFresh([hydration('/a', '/x'), hydration('/b', '/x'), hydration('/a', '/y')]);
  expect(a).not.toBe(b);
  expect(c).toBe(a);
});
