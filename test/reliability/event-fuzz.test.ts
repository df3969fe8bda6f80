import fc from 'fast-check';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { normalizeEvent } from '../../src/protocol/event.js';
import { computeGrouping, type GroupingOptions } from '../../src/grouping/index.js';
import { groupingOptionsError } from '../../src/grouping/validate.js';
import { SDK_PAYLOADS } from '../fixtures/corpus.js';

// The event normalizer and the grouping engine see attacker-controlled JSON. Under random shapes —
// real fixture events with fields replaced by arbitrary JSON, and arbitrary objects — normalizing
// never throws for an object and always yields the fields the digest stores; grouping always yields
// a 32-hex primary hash and never falls back because it failed (`error`: the event would go to the
// catch-all fallback issue), also under any project rules the API accepts.

const FIXTURES = SDK_PAYLOADS;
const events: Record<string, unknown>[] = [];
for (const dir of readdirSync(FIXTURES, { withFileTypes: true })) {
  if (!dir.isDirectory()) continue;
  for (const f of readdirSync(join(FIXTURES, dir.name))) {
    if (!f.endsWith('.json') || f.endsWith('.request.json')) continue;
    try {
      const v = JSON.parse(readFileSync(join(FIXTURES, dir.name, f), 'utf8'));
      if (v && typeof v === 'object' && !Array.isArray(v) && ('exception' in v || 'message' in v || 'logentry' in v || 'threads' in v)) events.push(v);
    } catch {
      /* not JSON: not an event fixture */
    }
  }
}

const FIELDS = ['exception', 'threads', 'stacktrace', 'message', 'logentry', 'tags', 'user', 'request', 'contexts', 'breadcrumbs', 'timestamp', 'level', 'platform', 'fingerprint', 'release', 'environment', 'sdk', 'event_id', 'transaction', 'extra', 'modules', 'culprit', 'checksum', 'type'];

function check(ev: unknown, options: GroupingOptions = {}) {
  const n = normalizeEvent(ev, { receivedAt: new Date('2026-11-28T12:00:00Z') });
  expect(n.event_id).toMatch(/^[0-9a-f]{32}$/);
  expect(typeof n.title).toBe('string');
  expect(typeof n.culprit).toBe('string');
  expect(typeof n.level).toBe('string');
  expect(typeof n.platform).toBe('string');
  expect(Number.isFinite(n.timestamp)).toBe(true);
  expect(Array.isArray(n.tags)).toBe(true);
  for (const [k, v] of n.tags) {
    expect(typeof k).toBe('string');
    expect(typeof v).toBe('string');
  }
  const g = computeGrouping(n, options);
  expect(g.error).toBeUndefined();
  expect(g.variants.fallback?.hint).not.toBe('grouping failed');
  expect(g.primaryHash).toMatch(/^[0-9a-f]{32}$/);
}

describe('event normalizer and grouping under random input', () => {
  it(`fixture events (${events.length}) with fields replaced by arbitrary JSON`, () => {
    expect(events.length).toBeGreaterThan(20);
    fc.assert(
      fc.property(fc.nat(events.length - 1), fc.array(fc.tuple(fc.constantFrom(...FIELDS), fc.jsonValue({ maxDepth: 4 })), { maxLength: 4 }), (i, replacements) => {
        const ev: Record<string, unknown> = { ...events[i]! };
        for (const [k, v] of replacements) ev[k] = v;
        check(ev);
      }),
      { numRuns: 600, seed: 11 },
    );
  });

  it('arbitrary objects', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.oneof(fc.constantFrom(...FIELDS), fc.string()), fc.jsonValue({ maxDepth: 5 })), (ev) => check(ev)),
      { numRuns: 1500, seed: 5 },
    );
  });

  it('fixture events under random JSON fingerprint rules the API accepts', () => {
    // objects with own toString / valueOf keys: String() of one throws (a `text` like that made
    // every event of the project fail grouping before the API refused it)
    const value = fc.oneof(fc.string(), fc.jsonValue({ maxDepth: 2 }), fc.dictionary(fc.constantFrom('toString', 'valueOf', 'length', 'x'), fc.jsonValue({ maxDepth: 1 }), { minKeys: 1 }));
    const rule = fc.record(
      {
        matchers: fc.oneof(fc.array(fc.tuple(fc.constantFrom('type', 'value', 'message', 'function', 'module', 'family', 'sdk', 'tags.x', '!type', 'app'), fc.string()), { maxLength: 3 }), value),
        fingerprint: fc.oneof(fc.array(fc.constantFrom('{{ default }}', '{{ error.type }}', '{{ transaction }}', '{{ tags.x }}', 'x', ''), { maxLength: 3 }), value),
        attributes: fc.oneof(fc.dictionary(fc.constantFrom('title', 'x'), fc.string()), value),
        text: value,
        is_builtin: value,
      },
      { requiredKeys: [] },
    );
    let accepted = 0;
    fc.assert(
      fc.property(fc.nat(events.length - 1), fc.oneof(fc.array(rule, { maxLength: 3 }), fc.record({ rules: fc.array(rule, { maxLength: 3 }) })), (i, rules) => {
        const options = { fingerprintingRules: JSON.stringify(rules) };
        if (groupingOptionsError(options) !== null) return;
        accepted++;
        check(events[i]!, options);
      }),
      { numRuns: 800, seed: 3 },
    );
    expect(accepted).toBeGreaterThan(100);
  });

  it('rejects a non-object with a TypeError naming it', () => {
    for (const v of [null, 1, 'x', [], true]) expect(() => normalizeEvent(v, { receivedAt: new Date() })).toThrow(TypeError);
  });
});
