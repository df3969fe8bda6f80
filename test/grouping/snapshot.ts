// Reads the component trees of a reference snapshot (.pysnap) and flattens trees into
// order-independent "path + contributes flag" lines, so our explanation can be compared with
// the reference without depending on hint texts or on the display order of sub-components.
import type { GroupingComponent } from '../../src/grouping/index.js';

export type Flat = string[];
const norm = (id: string) => id.replace(/_/g, '-');

/** variant name -> flattened component tree, for the variants that have a `component:` block */
export function parseSnapshotTrees(text: string): Record<string, Flat> {
  const out: Record<string, Flat> = {};
  const blocks = text.split(/^-{74}$/m);
  for (const block of blocks) {
    const lines = block.split('\n');
    const head = lines.findIndex((l) => /^[a-z_-]+:$/.test(l));
    if (head < 0) continue;
    const name = norm(lines[head]!.slice(0, -1));
    const start = lines.findIndex((l) => l.trim() === 'component:');
    if (start < 0) continue;
    const flat: Flat = [];
    const stack: Array<{ indent: number; path: string; contributes: boolean; line: string; children: number; parent?: { children: number; parent?: unknown } }> = [];
    const nodes: Array<(typeof stack)[number]> = [];
    for (const line of lines.slice(start + 1)) {
      const m = /^(\s+)(.*)$/.exec(line);
      if (!m || m[1]!.length < 4) break;
      const indent = m[1]!.length;
      const body = m[2]!;
      while (stack.length && stack[stack.length - 1]!.indent >= indent) stack.pop();
      const parent = stack[stack.length - 1];
      if (body.startsWith('"') || /^-?\d+$/.test(body)) {
        // a value makes its component and all of its ancestors visible
        for (let n: { children: number; parent?: unknown } | undefined = parent; n; n = n.parent as typeof n) n.children++;
        flat.push(`${parent?.path ?? ''}=${body}`);
        continue;
      }
      const cm = /^([A-Za-z_-]+)(\*?)/.exec(body);
      if (!cm) break;
      const path = `${parent ? parent.path + '/' : ''}${norm(cm[1]!)}`;
      const contributes = cm[2] === '*';
      const node = { indent, path, contributes, line: `${path}${contributes ? '*' : ''}`, children: 0, parent };
      stack.push(node);
      nodes.push(node);
    }
    // Components without any value below them are left out (the reference prints some of them).
    for (const n of nodes) if (n.children) flat.push(n.line);
    out[name] = flat.sort();
  }
  return out;
}

/** The same flattening for our component tree; components without values are not shown. */
export function flattenComponent(c: GroupingComponent): Flat {
  const flat: Flat = [];
  const hasLeaf = (node: GroupingComponent): boolean =>
    node.values.some((v) => typeof v !== 'object' || hasLeaf(v));
  const walk = (node: GroupingComponent, prefix: string) => {
    if (!hasLeaf(node)) return;
    const path = `${prefix}${norm(node.id)}`;
    flat.push(`${path}${node.contributes ? '*' : ''}`);
    for (const v of node.values) {
      if (typeof v === 'object') walk(v, `${path}/`);
      else flat.push(`${path}=${JSON.stringify(v)}`);
    }
  };
  walk(c, '');
  return flat.sort();
}
