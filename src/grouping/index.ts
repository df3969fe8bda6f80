// Grouping engine: computes Sentry-compatible grouping hashes (config `newstyle:2023-01-11`)
// for an event. Pure: no I/O, never throws (a failure is returned as `error`, see computeGrouping).
//
// How an event is grouped (one file per step):
//   event.ts        read exceptions / threads / stack trace / message, tolerating odd shapes
//   checksum.ts     a legacy client checksum short-circuits everything
//   enhancers.ts    stack-trace rules (default-rules.ts + project rules) classify frames:
//                   in-app or not, category (thread base, internals, ...); compiled-rules.ts
//                   runs them with the rules each distinct frame can match cached
//   fingerprint.ts  server fingerprint rules (project, then built-in) may replace the client's
//   strategies.ts   strategies, strongest first: exception (exceptions.ts) > threads >
//                   stack trace (stacktrace.ts, frames.ts, functions.ts) > template >
//                   security report (security.ts) > message (parameterize.ts)
//   variants.ts     app / system / default variants, custom / built-in / hybrid fingerprints,
//                   fallback; hash.ts turns contributing leaf values into md5 hashes
//
// Which hash becomes the issue key (`primaryHash`): the reference server takes `app` when it
// contributes, else `hashed-checksum` when present, else the one remaining contributing
// variant (its `_get_hash_basis` picks the "main variant" exactly so). Only one strategy
// contributes per event, so in practice: a fingerprint variant (custom or built-in) or the
// checksum wins; otherwise `app` when it contributes, else `system`, then `default`
// (message / security report), then `fallback`. A non-hex legacy checksum is also kept
// verbatim in a `checksum` variant; it is not a hash, so it is never picked and is left out
// of `hashes`. `hashes` lists every distinct real hash of the event (primary first) so that
// issues created under the older "match on any variant hash" policy can still be found.
//
// Memory: the engine keeps bounded caches across events, all pure functions of their keys —
// rule candidates per distinct frame (compiled-rules.ts, ≤ ~5 MB), trimmed native function names
// (functions.ts, ≤ ~5 MB), compiled project rule sets and parsed project fingerprint rules
// (variants.ts, 100 of each: a few KB plus their text), compiled globs (glob.ts, 5,000 patterns
// from rule texts). Frame entries are per rule set: projects with their own stack-trace rules
// share the 4,096 entries with the built-in set.
// Cost (CPU per call, 2-core machine, 80 reference inputs / 58 SDK events in a loop): 163-185 /
// 342 µs before the rules were compiled and cached, ~36-40 / ~55-65 µs after.
import { buildVariants } from './variants.js';
import { hashValues } from './hash.js';
import { isObj } from './event.js';
import type { GroupingComponent } from './components.js';

export type { GroupingComponent } from './components.js';
export { parameterize, normalizeMessage } from './parameterize.js';

export const GROUPING_CONFIG = 'newstyle:2023-01-11';

export interface GroupingVariant {
  name: string;
  hash: string | null;
  contributes: boolean;
  component?: GroupingComponent;
  /** fingerprint values (custom / built-in / hybrid variants) */
  values?: string[];
  hint?: string | null;
  /** client fingerprint and matched server rule, when a fingerprint was involved */
  fingerprintInfo?: Record<string, unknown>;
  /** checksum variants: the hash used and, for `hashed-checksum`, the client's raw value */
  checksum?: string;
  rawChecksum?: string;
}

export interface GroupingResult {
  config: string;
  variants: Record<string, GroupingVariant>;
  primaryHash: string;
  hashes: string[];
  /** Set when building the variants threw (a defect): the exception's message. The event was put
   * under the fallback hash — one catch-all issue — so callers record it (src/digest/grouping-failures.ts). */
  error?: string;
}

export interface GroupingOptions {
  /** project stack-trace rules, e.g. `stack.function:runApp -app -group` (one per line) */
  enhancements?: string;
  /** project fingerprint rules: rule text (`error.type:Foo -> foo`) or a JSON rule list */
  fingerprintingRules?: string;
}

const PRIORITY = ['custom-fingerprint', 'built-in-fingerprint', 'checksum', 'hashed-checksum', 'app', 'system', 'default', 'fallback'];
const HASH_RE = /^[0-9a-f]{32}$/;

export function pickPrimary(variants: Record<string, GroupingVariant>): string {
  for (const name of PRIORITY) {
    const v = variants[name];
    if (v?.contributes && v.hash && HASH_RE.test(v.hash)) return v.hash;
  }
  for (const v of Object.values(variants)) if (v.contributes && v.hash && HASH_RE.test(v.hash)) return v.hash;
  return hashValues([]);
}

export function computeGrouping(event: Record<string, unknown>, options: GroupingOptions = {}): GroupingResult {
  let variants: Record<string, GroupingVariant>;
  let error: string | undefined;
  try {
    variants = buildVariants(isObj(event) ? event : {}, options ?? {});
  } catch (e) {
    // Input we did not anticipate (a defect of the engine): the event still gets an issue — the
    // fallback's, shared by every event that fails so — and the error goes back to the caller, who
    // records it (the digest counts and logs it; the API lists it in the event's `errors`).
    error = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
    variants = { fallback: { name: 'fallback', hash: hashValues([]), contributes: true, hint: 'grouping failed' } };
  }
  const primaryHash = pickPrimary(variants);
  const hashes = [primaryHash];
  for (const v of Object.values(variants)) {
    if (v.hash && HASH_RE.test(v.hash) && !hashes.includes(v.hash)) hashes.push(v.hash);
  }
  return error === undefined ? { config: GROUPING_CONFIG, variants, primaryHash, hashes } : { config: GROUPING_CONFIG, variants, primaryHash, hashes, error };
}
