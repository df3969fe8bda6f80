import { computeGrouping, type GroupingResult } from '../grouping/index.js';
import { optionsOf, type ProjectRules } from './project-rules.js';
import { groupingInput } from '../grouping/event.js';
import { valueHash } from '../grouping/value-hash.js';
import { fieldsReadBy, tagPairs, withEventFingerprint, type FieldsRead } from '../grouping/fingerprint.js';
import { fingerprintRulesFor } from '../grouping/variants.js';
import type { NormalizedEvent } from '../protocol/event.js';

// The one place the digest asks which issue an event belongs to. The grouping engine is pure and
// never throws; what the digest keeps of it: the config name, the primary hash (issue key), all
// hashes (issue_hash rows) and the variants (the explanation stored with a new issue).
//
// Grouping costs ~40–200 µs per event once the process is warm (up to ~0.5 ms for an event whose
// frames are all new, ~1.7 ms in a process's first hundred calls), while most events repeat an error
// already seen — against ~10 µs for the key below. So results are cached
// by a hash of every field grouping may read (exception, threads, stack trace, message,
// fingerprint, and the tags and top-level fields that fingerprint rules and variables name): the
// event id, times, user, request, breadcrumbs and every tag no rule reads are left out, and those
// never influence grouping. Micro-benchmark on the realistic mix (`node dist/bench/micro/prepare.js
// 20000 4 realistic`, alternating builds, last rounds): 261–285 µs per payload with all tags in the key, 221–242
// without. The key is a 128-bit hash of that value (value-hash.ts):
// a Map keyed by its 2–20 KB JSON spent more time hashing and comparing it than SHA-1 does, and the
// JSON and its SHA-1 cost ~22 µs per event on the bench mix.
//
// The cache keeps only what a repeat needs (config, primary hash, hashes: ~200 bytes with its key),
// not the variants' component trees (6–30 KB each): with whole results only 300 fitted, fewer than
// the ~1,000 groups of the bench mix, so most events missed and ran the rules (prepare cost 600 µs
// per payload on the mix, ~100 µs with this cache; the worker's CPU per event went from 1,062 to 522 µs). The
// explanation is therefore only built on a miss; a repeat whose issue turns out not to exist (a
// rare race, a deleted issue) has it rebuilt from the archived event when the issue is created.

export type Grouping = GroupingResult;

/** What the digest stores of an event's grouping; `explanation` is null when it came from the cache. */
export interface DigestGrouping {
  config: string;
  primaryHash: string;
  hashes: string[];
  explanation: string | null;
  /** The grouping engine failed on this event (its message); the event went to the fallback issue. */
  error: string | null;
}

/** Entries of the digest's grouping cache (~200 bytes each: ~2 MB when full). */
const MAX_CACHE = 10_000;
const cache = new Map<string, { config: string; primaryHash: string; hashes: string[]; error: string | null }>();

/** Primary hashes whose explanation this process has built (~50 bytes each: ~1 MB when full). */
const MAX_EXPLAINED = 20_000;
const explained = new Set<string>();

/** Whole results for the API's on-demand grouping info (a few events looked at again and again). */
const MAX_FULL = 50;
const full = new Map<string, Grouping>();

// Top-level fields grouping always reads besides exception, threads and stack trace (groupingInput).
// `logger`, `level`, `release`, `transaction` and `tags` are read only by fingerprint rules and
// fingerprint variables, so only those the rules in force (and the event's fingerprint) name are
// in the key: with them all in it, every distinct tag set of one error (route, server, browser…)
// was a cache miss that ran the rules — on the bench's realistic mix most events.
const GROUPING_FIELDS = ['platform', 'type', 'logentry', 'message', 'fingerprint', 'checksum', 'csp', 'hpkp', 'expectct', 'expectstaple', 'template'] as const;

const ALL_FIELDS: FieldsRead = { fields: ['level', 'logger', 'release', 'transaction'], tags: [] };

/** What the rules in force read; null when they cannot be read (the engine reports that per event, and the key then holds every field). */
function rulesRead(rules: ProjectRules | undefined): FieldsRead | null {
  try {
    return fieldsReadBy(fingerprintRulesFor(rules?.fingerprintingRules));
  } catch {
    return null;
  }
}

function keyOf(ev: NormalizedEvent, rules: ProjectRules | undefined): string {
  // Of the SDK, grouping reads its name (fingerprint variable) and version (Python SDK 3 rules).
  const sdk = ev.sdk as { name?: unknown; version?: unknown } | undefined;
  const ruleRead = rulesRead(rules);
  const read = ruleRead ? withEventFingerprint(ruleRead, ev.fingerprint) : ALL_FIELDS;
  const fields = read.fields.map((f) => ev[f] ?? null);
  const tags = !ruleRead ? (ev.tags ?? null) : read.tags.length ? tagPairs(ev).filter(([k]) => read.tags.includes(k)) : null;
  // Only what grouping reads of frames (no locals, no source context): the JSON of the bench mix's
  // events shrank from ~6 KB to ~1.5 KB, and the key's cost from 19 to ~7 µs per event.
  return valueHash([sdk?.name ?? null, sdk?.version ?? null, groupingInput(ev, GROUPING_FIELDS), read.fields, fields, tags, rules?.key ?? '']);
}

function touch<V>(m: Map<string, V>, key: string, max: number, value?: V): V | undefined {
  if (value === undefined) {
    const hit = m.get(key);
    if (hit !== undefined) {
      // most recently used last
      m.delete(key);
      m.set(key, hit);
    }
    return hit;
  }
  if (m.size >= max) m.delete(m.keys().next().value!);
  m.set(key, value);
  return value;
}

/** The whole grouping result, variants included (for the API's grouping info). */
export function groupEvent(ev: NormalizedEvent, rules?: ProjectRules): Grouping {
  const key = keyOf(ev, rules);
  return touch(full, key, MAX_FULL) ?? touch(full, key, MAX_FULL, computeGrouping(ev, optionsOf(rules)))!;
}

/** The digest's grouping of an event: cached hashes, or a fresh result with its explanation. */
export function groupForDigest(ev: NormalizedEvent, rules?: ProjectRules): DigestGrouping {
  const key = keyOf(ev, rules);
  const hit = touch(cache, key, MAX_CACHE);
  if (hit) return { ...hit, explanation: null };
  const g = computeGrouping(ev, optionsOf(rules));
  const error = g.error ?? null;
  touch(cache, key, MAX_CACHE, { config: g.config, primaryHash: g.primaryHash, hashes: g.hashes, error });
  // Only an issue's first event needs the explanation, so it is built for the first event of each
  // primary hash this process sees; a later one that creates the issue after all (the first one's batch
  // failed, the issue was deleted) has it rebuilt from the archive, as a cache hit does. Events whose
  // grouping input varies (stack depth, exception values) but whose group does not miss the cache above;
  // building their explanation anyway was 8 % of the prepare CPU on the realistic mix.
  const first = !explained.has(g.primaryHash);
  if (first) {
    if (explained.size >= MAX_EXPLAINED) explained.clear();
    explained.add(g.primaryHash);
  }
  return { config: g.config, primaryHash: g.primaryHash, hashes: g.hashes, explanation: first ? groupingExplanationJson(g) : null, error };
}

/** The explanation stored with a new issue (config, hashes, variants with their components), as JSON. */
export function groupingExplanationJson(g: Grouping): string {
  return JSON.stringify({ config: g.config, primary_hash: g.primaryHash, hashes: g.hashes, variants: g.variants });
}
