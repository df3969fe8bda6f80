import type pg from 'pg';
import type { GroupingOptions } from '../grouping/index.js';

// Each project's own grouping rules (migrations/0013_project_grouping.sql) for the digest: read for
// the projects of a batch and kept for RULES_TTL_MS, so a batch costs no extra statement unless a
// project's rules are older than that. A change made through the API applies within that time.

const RULES_TTL_MS = 5000;
/** Projects remembered (rule texts are small; a few KB each at most in practice). */
const MAX_PROJECTS = 1000;

export interface ProjectRules extends GroupingOptions {
  /** Part of the grouping cache key ('' = no project rules): the same rules, the same key. */
  key: string;
}

const cache = new Map<number, { at: number; rules: ProjectRules | null }>();

/** The project's rules as the grouping engine takes them (none: the built-in rules alone). */
export function optionsOf(rules: ProjectRules | undefined): GroupingOptions {
  return rules ? { enhancements: rules.enhancements, fingerprintingRules: rules.fingerprintingRules } : {};
}

/** Rules of each project that has any (projects without rules are left out). */
export async function projectRules(client: pg.Pool | pg.ClientBase, projectIds: number[], now = Date.now()): Promise<Record<number, ProjectRules>> {
  const stale = projectIds.filter((id) => (cache.get(id)?.at ?? -Infinity) < now - RULES_TTL_MS);
  if (stale.length) {
    const { rows } = await client.query<{ id: number; grouping_enhancements: string; fingerprinting_rules: string }>({
      name: 'digest-project-rules',
      text: 'SELECT id, grouping_enhancements, fingerprinting_rules FROM project WHERE id = ANY($1::bigint[])',
      values: [`{${stale.join(',')}}`] });
    if (cache.size + stale.length > MAX_PROJECTS) cache.clear();
    for (const id of stale) cache.set(id, { at: now, rules: null });
    for (const r of rows) {
      const e = r.grouping_enhancements.trim() ? r.grouping_enhancements : undefined;
      const f = r.fingerprinting_rules.trim() ? r.fingerprinting_rules : undefined;
      if (e || f) cache.set(Number(r.id), { at: now, rules: { enhancements: e, fingerprintingRules: f, key: JSON.stringify([e ?? '', f ?? '']) } });
    }
  }
  const out: Record<number, ProjectRules> = {};
  for (const id of projectIds) {
    const r = cache.get(id)?.rules;
    if (r) out[id] = r;
  }
  return out;
}

/** For tests: forget what was read. */
export function forgetProjectRules(): void {
  cache.clear();
}
