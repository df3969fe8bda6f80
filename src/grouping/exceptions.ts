// Exception components: a single exception is [stacktrace, type, (ns-error), value] — the
// order in which this grouping config hashes them. Chained exceptions wrap one component per
// exception; exception groups are first reduced to their distinct leaf exceptions.
import { component, describe, update, hasContributing, type GroupingComponent } from './components.js';
import { normalizeMessage } from './parameterize.js';
import { stacktraceVariants, type RuleContext } from './stacktrace.js';
import type { SingleException } from './event.js';

export type ByVariant = Record<string, GroupingComponent>;

export function singleException(ex: SingleException, ctx: RuleContext): ByVariant {
  const type = component('type', ex.type ? [ex.type] : []);
  let nsError: GroupingComponent | null = null;
  if (ex.mechanism?.synthetic) update(type, { contributes: false, hint: 'ignored because exception is synthetic' });
  if (ex.mechanism?.nsError) {
    const { domain, code } = ex.mechanism.nsError;
    nsError = component('ns-error', [leaf(domain), leaf(code)].filter((v): v is string | number => v !== null));
  }
  const stVariants: ByVariant = ex.stacktrace
    ? stacktraceVariants(ex.stacktrace, ctx, { type: ex.type, value: ex.value, mechanism: ex.mechanism ? { type: ex.mechanism.type } : null })
    : { '!app': component('stacktrace') };

  const out: ByVariant = {};
  // normalized once for all variants (parameterizing is ~10 regexes over the message)
  const normalized = ex.value !== null ? normalizeMessage(ex.value) : null;
  for (const [name, st] of Object.entries(stVariants)) {
    const value = component('value');
    if (normalized) update(value, { values: [normalized], hint: normalized !== ex.value ? 'stripped event-specific values' : null });
    if (st.contributes && value.contributes) update(value, { contributes: false, hint: 'ignored because stacktrace takes precedence' });
    if (nsError?.contributes && value.contributes) update(value, { contributes: false, hint: 'ignored because ns-error info takes precedence' });
    const values = nsError ? [st, type, nsError, value] : [st, type, value];
    out[name] = component('exception', values);
  }
  return out;
}

function leaf(v: unknown): string | number | null {
  if (typeof v === 'string' || (typeof v === 'number' && Number.isFinite(v))) return v;
  return null;
}

export function chainedException(
  exceptions: SingleException[],
  ctx: RuleContext,
  opts: { skipGroupFilter?: boolean } = {},
): ByVariant {
  const byException = new Map<SingleException, ByVariant>();
  for (const ex of exceptions) byException.set(ex, singleException(ex, ctx));
  let selected = exceptions;
  if (!opts.skipGroupFilter) {
    try {
      selected = filterExceptionGroups(exceptions, byException);
    } catch {
      selected = exceptions;
    }
  }
  if (selected.length === 1) return byException.get(selected[0]!)!;
  const lists: Record<string, GroupingComponent[]> = {};
  for (const ex of selected) {
    for (const [name, c] of Object.entries(byException.get(ex)!)) (lists[name] ??= []).push(c);
  }
  const out: ByVariant = {};
  for (const [name, list] of Object.entries(lists)) out[name] = component('chained-exception', list);
  return out;
}

interface Node { exception: SingleException | null; children: SingleException[] }

class BrokenTree extends Error {}

/**
 * Exception groups (mechanism.exception_id / parent_id / is_exception_group): keep the
 * distinct "top-level" exceptions (first non-group descendants of the root, sorted by type
 * descending, consecutive duplicates by grouping content removed). One distinct exception:
 * that exception and its first-child path. Several: one of each plus the root group. None
 * (e.g. the root's children are unreachable because of self-parenting or a cycle): just the
 * root. Missing ids, a missing root or an endless first-child path leave the list unchanged.
 * A later duplicate id replaces an earlier one's node (the reference snapshots were produced
 * with this lenient tree building).
 */
export function filterExceptionGroups(
  exceptions: SingleException[],
  components: Map<SingleException, ByVariant>,
): SingleException[] {
  if (exceptions.length <= 1) return exceptions;
  const tree = new Map<number, Node>();
  const node = (id: number) => {
    let n = tree.get(id);
    if (!n) tree.set(id, (n = { exception: null, children: [] }));
    return n;
  };
  for (const ex of [...exceptions].reverse()) {
    const m = ex.mechanism;
    if (!m || m.exceptionId === null) return exceptions;
    node(m.exceptionId).exception = ex;
    if (m.parentId !== null) node(m.parentId).children.push(ex);
  }
  const limit = exceptions.length * 4 + 16;
  const children = (ex: SingleException) => tree.get(ex.mechanism!.exceptionId!)?.children ?? [];
  const topLevel = (ex: SingleException, depth: number, out: SingleException[]): void => {
    if (depth > limit) throw new BrokenTree('cycle');
    if (ex.mechanism!.isExceptionGroup) for (const c of children(ex)) topLevel(c, depth + 1, out);
    else out.push(ex);
  };
  const root = tree.get(0)?.exception;
  if (!root) return exceptions;
  const top: SingleException[] = [];
  try {
    topLevel(root, 0, top);
  } catch {
    return exceptions;
  }
  const typeKey = (e: SingleException) => (e.type === null ? 'None' : e.type);
  top.sort((a, b) => (typeKey(a) < typeKey(b) ? 1 : typeKey(a) > typeKey(b) ? -1 : 0));
  const distinct: SingleException[] = [];
  let prevKey: string | null = null;
  for (const ex of top) {
    const key = Object.entries(components.get(ex)!).map(([n, c]) => `${n}=${describe(c)}`).join(';');
    if (key !== prevKey) distinct.push(ex);
    prevKey = key;
  }
  if (distinct.length === 1) {
    const path: SingleException[] = [];
    let cur: SingleException | undefined = distinct[0];
    while (cur) {
      if (path.length > limit) return exceptions;
      path.push(cur);
      cur = children(cur)[0];
    }
    return path;
  }
  distinct.push(root);
  return distinct;
}

/**
 * When some variant has a contributing stack trace, variants without one stop contributing
 * (an `app` variant made only of type/value is weaker than a `system` stack trace).
 */
export function removeNonStacktraceVariants(variants: ByVariant): ByVariant {
  const names = Object.keys(variants);
  if (names.length <= 1) return variants;
  const withSt: string[] = [];
  const without: GroupingComponent[] = [];
  for (const n of names) {
    const c = variants[n]!;
    const has = hasContributing(c, 'stacktrace');
    if (has) withSt.push(n);
    else without.push(c);
  }
  if (withSt.length) {
    const suffix = withSt.length === 1 ? `the ${withSt[0]} variant does` : 'others do';
    for (const c of without) {
      update(c, { contributes: false, hint: `ignored because this variant does not have a contributing stacktrace, but ${suffix}` });
    }
  }
  return variants;
}
