// Stack-trace rules compiled for speed: the same results as interpreting every rule against every
// frame (enhancers.ts: matchingFrames, classifyFrames; the tests compare both), with less work.
//
// A rule's matchers split into static ones (path, package, function, module, family: fields the
// rules never change) and dynamic ones (category and in-app, which earlier rules set; caller /
// callee neighbours; error.* of the exception). Which rules' static matchers hold for a frame
// depends only on those five fields, so it is computed once per distinct frame and kept in a
// bounded cache: the same library and application frames come back in error after error. Per
// stack trace the engine then looks only at the rules a frame can match, instead of ~290 rules
// per frame (138 of them native-only). The contribution pass (+group/-group, max-frames) is
// matched once per stack trace and its hits are shared by the app and system variants.
import {
  applyClassification, EXCEPTION_KEYS, matcherHolds,
  type ExceptionData, type FrameMatcher, type MatchFrame, type Rule,
} from './enhancers.js';

interface Plan {
  rule: Rule;
  /** own-frame matchers on path/package/function/module, and negated family matchers */
  statics: FrameMatcher[];
  /** families allowed by the rule's (non-negated) family matchers; null: any */
  families: Array<Set<string>> | null;
  /** own-frame matchers on category / in-app */
  dynamics: FrameMatcher[];
  /** a category matcher must hold: frames without a category cannot match (most frames) */
  needsCategory: boolean;
  /** the wildcard-free pattern of such a matcher: only categories identical to it or of its length can match */
  category: string | null;
  exception: FrameMatcher[];
  caller: FrameMatcher[];
  callee: FrameMatcher[];
}

export interface CompiledRules {
  id: number;
  plans: Plan[];
  /** plans with no static matcher: every frame is a candidate */
  always: number[];
  /** per frame family: plans with static matchers whose family matchers accept that family */
  byFamily: Map<string, FamilyPlans>;
}

/**
 * The plans to test for a frame of one family. A plan whose function or module pattern starts
 * with a literal ASCII character can only match a value starting with that character (rules
 * match case-insensitively, and no non-ASCII character matches an ASCII one case-insensitively),
 * so it is filed under that character, upper-cased: a native frame is tested against a handful of
 * its 138 native rules.
 */
interface FamilyPlans {
  other: number[];
  byFunction: Map<string, number[]>;
  byModule: Map<string, number[]>;
}

/** Hits of one rule in a stack trace (frame indices, oldest call first). */
export interface RuleHits { rule: Rule; hits: number[] }

const STATIC_KEYS = new Set(['path', 'package', 'function', 'module', 'family']);
let nextId = 0;

/**
 * Compiles rules, after those of `base` when given (project rules after the built-in ones share
 * the built-in plans: a compiled project rule set costs a few KB, not ~100).
 */
export function compileRules(rules: readonly Rule[], base?: CompiledRules): CompiledRules {
  const plans: Plan[] = base ? [...base.plans] : [];
  const always: number[] = base ? [...base.always] : [];
  for (const rule of rules) {
    // Rules that neither classify nor contribute (+prefix, +sentinel, ...) never change a result.
    if (!rule.classifies && !rule.contributes) continue;
    const plan: Plan = { rule, statics: [], families: null, dynamics: [], needsCategory: false, category: null, exception: [], caller: [], callee: [] };
    for (const { kind, m } of rule.matchers) {
      if (kind === 'caller') plan.caller.push(m);
      else if (kind === 'callee') plan.callee.push(m);
      else if (EXCEPTION_KEYS.has(m.key)) plan.exception.push(m);
      else if (m.key === 'family' && !m.negated) (plan.families ??= []).push(new Set(m.pattern.split(',')));
      else if (STATIC_KEYS.has(m.key)) plan.statics.push(m);
      else plan.dynamics.push(m);
    }
    const cat = plan.dynamics.find((m) => m.key === 'category' && !m.negated);
    plan.needsCategory = cat !== undefined;
    if (cat && !/[*?[\\]/.test(cat.pattern)) plan.category = cat.pattern;
    if (!plan.statics.length && !plan.families) always.push(plans.length);
    plans.push(plan);
  }
  return { id: nextId++, plans, always, byFamily: new Map() };
}

const WILD = new Set(['*', '?', '[', '\\']);
function literalFirst(m: FrameMatcher): string | null {
  const c = m.pattern.charAt(0);
  return !m.negated && c && c.charCodeAt(0) < 128 && !WILD.has(c) ? c.toUpperCase() : null;
}

function plansForFamily(cr: CompiledRules, family: string): FamilyPlans {
  let fp = cr.byFamily.get(family);
  if (!fp) {
    fp = { other: [], byFunction: new Map(), byModule: new Map() };
    for (let i = 0; i < cr.plans.length; i++) {
      const p = cr.plans[i]!;
      if (!p.statics.length && !p.families) continue;
      if (p.families && !p.families.every((f) => f.has('all') || f.has(family))) continue;
      const fn = p.statics.find((m) => m.key === 'function' && literalFirst(m));
      const mod = fn ? undefined : p.statics.find((m) => m.key === 'module' && literalFirst(m));
      const by = fn ? fp.byFunction : mod ? fp.byModule : null;
      if (!by) fp.other.push(i);
      else {
        const c = literalFirst((fn ?? mod)!)!;
        let l = by.get(c);
        if (!l) by.set(c, (l = []));
        l.push(i);
      }
    }
    cr.byFamily.set(family, fp);
  }
  return fp;
}

/** The plans filed under the first character of `value` (none for a non-ASCII or empty start). */
function filed(by: Map<string, number[]>, value: string | null): number[] | undefined {
  if (!value) return undefined;
  const c = value.charAt(0);
  return c.charCodeAt(0) < 128 ? by.get(c.toUpperCase()) : undefined;
}

// Static candidates per distinct frame. 4,096 entries; keys longer than 512 characters (very long
// paths or symbols) are not cached. An entry is its key (≤ 1 KB as UTF-16) plus a small Int32Array
// (~100 bytes): at most ~5 MB, ~1 MB with typical 100-character keys. Oldest entries go first.
const MAX_FRAMES = 4096;
const MAX_KEY = 512;
const frameCache = new Map<string, Int32Array>();
const NONE = new Int32Array(0);

function field(v: string | null): string {
  return v === null ? '-' : `${v.length}:${v}`;
}

/** Plans whose static matchers (family included) all hold for the frame, in rule order. */
function candidates(cr: CompiledRules, f: MatchFrame): Int32Array {
  const key = `${cr.id}|${f.family}|${field(f.function)}${field(f.module)}${field(f.package)}${field(f.path)}`;
  const hit = frameCache.get(key);
  if (hit) return hit;
  const fp = plansForFamily(cr, f.family);
  const out: number[] = [];
  const test = (plans: number[] | undefined) => {
    if (!plans) return;
    for (const i of plans) {
      const statics = cr.plans[i]!.statics;
      let ok = true;
      for (let j = 0; j < statics.length && ok; j++) ok = matcherHolds(statics[j]!, f, null);
      if (ok) out.push(i);
    }
  };
  test(fp.other);
  const byFn = filed(fp.byFunction, f.function);
  const byMod = filed(fp.byModule, f.module);
  test(byFn);
  test(byMod);
  if (byFn || byMod) out.sort((a, b) => a - b); // rule order
  const list = out.length ? Int32Array.from(out) : NONE;
  if (key.length <= MAX_KEY) {
    if (frameCache.size >= MAX_FRAMES) frameCache.delete(frameCache.keys().next().value!);
    frameCache.set(key, list);
  }
  return list;
}

/** Per plan, the frames its static matchers accept (undefined: none). */
export type StackCandidates = Array<number[] | undefined>;

export function stackCandidates(cr: CompiledRules, frames: MatchFrame[]): StackCandidates {
  const lists: StackCandidates = new Array(cr.plans.length);
  if (!frames.length) return lists;
  for (let idx = 0; idx < frames.length; idx++) {
    for (const p of candidates(cr, frames[idx]!)) (lists[p] ??= []).push(idx);
  }
  const all = frames.map((_, i) => i);
  for (const p of cr.always) lists[p] = all;
  return lists;
}

function planHits(plan: Plan, frames: MatchFrame[], list: number[], ex: ExceptionData | null): number[] {
  for (const m of plan.exception) if (!matcherHolds(m, frames[0], ex)) return [];
  const { dynamics, caller, callee, needsCategory, category } = plan;
  const out: number[] = [];
  const last = frames.length - 1;
  for (const idx of list) {
    if (needsCategory) {
      const c = frames[idx]!.category;
      if (c === null || (category !== null && c !== category && c.length !== category.length)) continue;
    }
    let ok = true;
    for (let j = 0; j < dynamics.length && ok; j++) ok = matcherHolds(dynamics[j]!, frames[idx], ex);
    for (let j = 0; j < caller.length && ok; j++) ok = idx > 0 && matcherHolds(caller[j]!, frames[idx - 1], ex);
    for (let j = 0; j < callee.length && ok; j++) ok = idx < last && matcherHolds(callee[j]!, frames[idx + 1], ex);
    if (ok) out.push(idx);
  }
  return out;
}

/** Classification pass (in-app flags, categories), as classifyFrames does it. */
export function classifyCompiled(cr: CompiledRules, frames: MatchFrame[], lists: StackCandidates, ex: ExceptionData | null): void {
  if (!frames.length) return;
  for (let p = 0; p < cr.plans.length; p++) {
    const list = lists[p];
    const plan = cr.plans[p]!;
    if (!list || !plan.rule.classifies) continue;
    const hits = planHits(plan, frames, list, ex);
    if (hits.length) applyClassification(plan.rule, frames, hits);
  }
}

/** Contribution pass: the rules that switch frames on/off or set max/min-frames, with their hits. */
export function contributionHits(cr: CompiledRules, frames: MatchFrame[], lists: StackCandidates, ex: ExceptionData | null): RuleHits[] {
  const out: RuleHits[] = [];
  for (let p = 0; p < cr.plans.length; p++) {
    const list = lists[p];
    const plan = cr.plans[p]!;
    if (!list || !plan.rule.contributes) continue;
    const hits = planHits(plan, frames, list, ex);
    if (hits.length) out.push({ rule: plan.rule, hits });
  }
  return out;
}
