// Hashing of grouping values. A variant's hash is the md5 of its contributing leaf values,
// concatenated in tree order with no separator (numbers as their decimal text), hex-encoded.
// md5("") = d41d8cd98f00b204e9800998ecf8427e is the `fallback` hash.
import { createHash } from 'node:crypto';

export function hashValues(values: Iterable<unknown>): string {
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
