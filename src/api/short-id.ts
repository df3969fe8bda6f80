// Issue short ids as Sentry shows them: the project slug upper-cased, a dash, and the project's
// issue counter in Sentry's base 32 (digits and capitals without I, L, O and U, so that a short id
// read aloud or retyped cannot be confused: sentry/utils/numbers.py BASE32_ALPHABET). 1 → "1",
// 32 → "10", 1066 → "11A".

const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

export function base32Encode(n: number): string {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`not a counter: ${n}`);
  if (n === 0) return '0';
  let out = '';
  while (n > 0) {
    out = ALPHABET[n % 32] + out;
    n = Math.floor(n / 32);
  }
  return out;
}

/** Decodes as Sentry does, forgiving O for 0 and I/L for 1; null when not base 32. */
export function base32Decode(s: string): number | null {
  const t = s.toUpperCase().replace(/O/g, '0').replace(/[IL]/g, '1');
  if (!t) return null;
  let n = 0;
  for (const ch of t) {
    const i = ALPHABET.indexOf(ch);
    if (i < 0) return null;
    n = n * 32 + i;
  }
  return Number.isSafeInteger(n) ? n : null;
}

export function shortId(projectSlug: string, counter: number): string {
  return `${projectSlug.toUpperCase()}-${base32Encode(counter)}`;
}

/** "MY-APP-1A" → { slug: "my-app", counter: 42 }; the slug itself may contain dashes. */
export function parseShortId(s: string): { slug: string; counter: number } | null {
  const i = s.lastIndexOf('-');
  if (i <= 0) return null;
  const counter = base32Decode(s.slice(i + 1));
  return counter === null ? null : { slug: s.slice(0, i).toLowerCase(), counter };
}
