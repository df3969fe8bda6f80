// Grouping components: a tree whose leaves are the values that may go into a hash. A node's
// `contributes` flag is derived from its children when the node is built (any primitive leaf
// or any contributing child), and afterwards only changes when a rule explicitly updates it
// (it is NOT recomputed when a child changes later; the hash walk still skips any
// non-contributing subtree).
import { hashValues } from './hash.js';

export type Leaf = string | number;
export interface GroupingComponent {
  id: string;
  contributes: boolean;
  hint: string | null;
  values: Array<GroupingComponent | string | number>;
}

export function isComponent(v: unknown): v is GroupingComponent {
  return typeof v === 'object' && v !== null && 'id' in v && 'values' in v;
}

function deriveContributes(values: GroupingComponent['values']): boolean {
  for (const v of values) if (!isComponent(v) || v.contributes) return true;
  return false;
}

export function component(
  id: string,
  values: GroupingComponent['values'] = [],
  opts: { contributes?: boolean; hint?: string | null } = {},
): GroupingComponent {
  return {
    id,
    contributes: opts.contributes ?? deriveContributes(values),
    hint: opts.hint ?? null,
    values,
  };
}

/** A deep copy (the same tree, to be updated independently). */
export function cloneComponent(c: GroupingComponent): GroupingComponent {
  const values: GroupingComponent['values'] = [];
  for (const v of c.values) values.push(isComponent(v) ? cloneComponent(v) : v);
  return { id: c.id, contributes: c.contributes, hint: c.hint, values };
}

/** Mirrors the update semantics: new values re-derive `contributes` unless it is given. */
export function update(
  c: GroupingComponent,
  u: { contributes?: boolean; hint?: string | null; values?: GroupingComponent['values'] },
): void {
  if (u.hint !== undefined && u.hint !== null) c.hint = u.hint;
  let contributes = u.contributes;
  if (u.values !== undefined) {
    if (contributes === undefined) contributes = deriveContributes(u.values);
    c.values = u.values;
  }
  if (contributes !== undefined) c.contributes = contributes;
}

/** The contributing leaf values of a tree, in order (what its hash is made of). */
export function iterValues(c: GroupingComponent, out: Leaf[] = []): Leaf[] {
  if (!c.contributes) return out;
  for (const v of c.values) {
    if (isComponent(v)) iterValues(v, out);
    else out.push(v);
  }
  return out;
}

export function componentHash(c: GroupingComponent): string | null {
  return c.contributes ? hashValues(iterValues(c)) : null;
}

/** Depth-first search for sub-components by id; with onlyContributing, non-contributing subtrees are skipped. */
export function* iterSubcomponents(
  c: GroupingComponent,
  id: string,
  onlyContributing = false,
): Generator<GroupingComponent> {
  for (const v of c.values) {
    if (!isComponent(v)) continue;
    if (onlyContributing && !v.contributes) continue;
    if (v.id === id) yield v;
    yield* iterSubcomponents(v, id, onlyContributing);
  }
}

/** Whether a contributing sub-component with this id exists, reached through contributing ones only. */
export function hasContributing(c: GroupingComponent, id: string): boolean {
  for (const v of c.values) {
    if (!isComponent(v) || !v.contributes) continue;
    if (v.id === id || hasContributing(v, id)) return true;
  }
  return false;
}

/** A stable text form of a tree (ids, flags, hints, values), used to compare components for equality. */
export function describe(c: GroupingComponent): string {
  const inner = c.values.map((v) => (isComponent(v) ? describe(v) : JSON.stringify(v))).join(',');
  return `${c.id}(${c.contributes ? 1 : 0}|${c.hint ?? ''}|${inner})`;
}
