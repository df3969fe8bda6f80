// Array parameters as PostgreSQL array literals, built here instead of by pg: pg quotes and
// regex-escapes every element, numbers included, and this was ~6% of the digest worker's CPU
// (`arrayString`/`escapeElement` plus the byte counting of the longer strings; BENCHMARKS.md).
// Pass the result where the SQL casts the parameter to an array type (`$2::bigint[]`).

/** Numbers (int, bigint, float8) and booleans; null → NULL. */
export function numArray(xs: readonly (number | boolean | null | undefined)[]): string {
  let s = '{';
  for (let i = 0; i < xs.length; i++) {
    if (i) s += ',';
    const x = xs[i];
    s += x === null || x === undefined ? 'NULL' : String(x);
  }
  return s + '}';
}

const NEEDS_ESCAPE = /["\\]/;

/** Strings (text, uuid, or nested array literals); null → NULL. */
export function textArray(xs: readonly (string | null | undefined)[]): string {
  let s = '{';
  for (let i = 0; i < xs.length; i++) {
    if (i) s += ',';
    const x = xs[i];
    if (x === null || x === undefined) s += 'NULL';
    else s += '"' + (NEEDS_ESCAPE.test(x) ? x.replace(/[\\"]/g, '\\$&') : x) + '"';
  }
  return s + '}';
}
