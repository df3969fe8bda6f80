// Hashing of grouping values. A variant's hash is the md5 of its contributing leaf values,
// concatenated in tree order with no separator (numbers as their decimal text), hex-encoded.
// md5("") = d41d8cd98f00b204e9800998ecf8427e is the `fallback` hash.
import { createHash, hash } from 'node:crypto';

export function hashValues(iterable: Iterable<unknown>): string {
  const values = Array.isArray(iterable) ? iterable : [...iterable];
  // One md5 over the joined text: an update() per leaf cost ~0.3 µs each (a 30-frame stack trace
  // has ~100 leaves). The UTF-8 bytes are the same unless a leaf ends in half of a surrogate pair
  // that the next leaf completes; such leaves are hashed one by one, as before.
  let text = '';
  let split = false;
  for (const v of values) {
    const t = leafText(v);
    const last = t.charCodeAt(t.length - 1);
    if (last >= 0xd800 && last <= 0xdbff) split = true;
    text += t;
  }
  if (!split) return hash('md5', text, 'hex');
  const h = createHash('md5');
  for (const v of values) h.update(leafText(v), 'utf8');
  return h.digest('hex');
}

/** Text a leaf contributes: strings as-is, numbers/booleans in decimal/textual form. */
export function leafText(v: unknown): string {
  if (typeof v === 'string') return v;
  if (v === null || v === undefined) return 'None';
  if (typeof v === 'number' || typeof v === 'bigint') return String(v);
  if (typeof v === 'boolean') return v ? 'True' : 'False';
  try {
    return JSON.stringify(v) ?? '';
  } catch {
    return '';
  }
}
