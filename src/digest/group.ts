import { hash } from 'node:crypto';
import { computeGrouping, type GroupingResult } from '../grouping/index.js';
import type { NormalizedEvent } from '../protocol/event.js';

// The one place the digest asks which issue an event belongs to. The grouping engine is pure and
// never throws; what the digest keeps of it: the config name, the primary hash (issue key), all
// hashes (issue_hash rows) and the variants (the explanation stored with a new issue).
//
// Grouping is the digest's costliest step (0.3–3 ms per event: stack-trace rules are matched
// against every frame), while most events repeat an error already seen. So results are cached
// by a hash of every field grouping may read (exception, threads, stack trace, message,
// fingerprint and the fields fingerprint variables name): only the event id and times are left
// out, and those never influence grouping. The key is the SHA-1 of that JSON: a Map keyed by the
// 2–20 KB string itself spent more time hashing and comparing it than SHA-1 does.

export type Grouping = GroupingResult;

/** A result holds the variants' component trees: 6–30 KB as JSON, several times that as objects
 * (measured on the fixtures), so the cache is small and least-recently-used. */
const MAX_CACHE = 300;
const cache = new Map<string, Grouping>();

const GROUPING_FIELDS = [
  'platform', 'type', 'exception', 'threads', 'stacktrace', 'logentry', 'message', 'fingerprint', 'checksum',
  'csp', 'hpkp', 'expectct', 'expectstaple', 'template', 'logger', 'level', 'transaction', 'release', 'tags',
] as const;

function keyOf(ev: NormalizedEvent): string {
  // Of the SDK, grouping reads its name (fingerprint variable) and version (Python SDK 3 rules).
  const sdk = ev.sdk as { name?: unknown; version?: unknown } | undefined;
  return hash('sha1', JSON.stringify([sdk?.name ?? null, sdk?.version ?? null, ...GROUPING_FIELDS.map((f) => ev[f] ?? null)]), 'base64');
}

export function groupEvent(ev: NormalizedEvent): Grouping {
  const key = keyOf(ev);
  const hit = cache.get(key);
  if (hit) {
    // most recently used last
    cache.delete(key);
    cache.set(key, hit);
    return hit;
  }
  const g = computeGrouping(ev);
  if (cache.size >= MAX_CACHE) cache.delete(cache.keys().next().value!);
  cache.set(key, g);
  return g;
}

const explained = new WeakMap<Grouping, string>();

/** The explanation stored with a new issue (config, hashes, variants with their components), as JSON. */
export function groupingExplanationJson(g: Grouping): string {
  let s = explained.get(g);
  if (s === undefined) {
    s = JSON.stringify({ config: g.config, primary_hash: g.primaryHash, hashes: g.hashes, variants: g.variants });
    explained.set(g, s);
  }
  return s;
}
