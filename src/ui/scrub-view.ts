import { html, type Html } from './html.js';
import { isObj, type Obj } from './values.js';

// What data scrubbing removed from an event, from its `_meta` remarks (src/scrub/event.ts): a note
// above the event naming how many values were filtered and by which rules. Filtered values read
// "[Filtered]" (or "[ip]", or are null) where they stand. `_meta` may come from the SDK too: the walk
// is bounded (depth and entries), and what it finds is only text in the page.

const MAX_DEPTH = 64;
const MAX_ENTRIES = 10_000;

/** Count of remarks and their rule ids in a _meta tree. */
export function scrubRemarks(meta: unknown): { count: number; rules: string[] } {
  const rules = new Set<string>();
  let count = 0;
  let seen = 0;
  const walk = (node: unknown, depth: number): void => {
    if (!isObj(node) || depth > MAX_DEPTH) return;
    for (const [k, v] of Object.entries(node)) {
      if (++seen > MAX_ENTRIES) return;
      if (k === '' && isObj(v) && Array.isArray(v.rem)) {
        for (const r of v.rem) {
          if (Array.isArray(r) && typeof r[0] === 'string') {
            count++;
            rules.add(r[0]);
          }
        }
      } else walk(v, depth + 1);
    }
  };
  walk(meta, 0);
  return { count, rules: [...rules].sort() };
}

export function scrubNotice(ev: Obj): Html {
  const { count, rules } = scrubRemarks(ev._meta);
  if (!count) return html``;
  return html`<p class="scrubbed" role="note">Data scrubbing filtered ${count} ${count === 1 ? 'value' : 'values'} of this event
(${rules.map((r, i) => html`${i ? ', ' : ''}<code>${r}</code>`)}): they read <code>[Filtered]</code> (IP addresses <code>[ip]</code>, removed values null) here, in the API and in the database.</p>`;
}
