import { computeGrouping, type GroupingResult } from '../grouping/index.js';
import type { NormalizedEvent } from '../protocol/event.js';

// The one place the digest asks which issue an event belongs to. The grouping engine is pure and
// never throws; what the digest keeps of it: the config name, the primary hash (issue key), all
// hashes (issue_hash rows) and the variants (the explanation stored with a new issue).

export type Grouping = GroupingResult;

export function groupEvent(ev: NormalizedEvent): Grouping {
  return computeGrouping(ev);
}

/** The explanation stored with an issue: variants without bulky duplicates, as plain JSON. */
export function groupingExplanation(g: Grouping): unknown {
  return { config: g.config, primary_hash: g.primaryHash, hashes: g.hashes, variants: g.variants };
}
