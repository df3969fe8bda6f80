// A 128-bit non-cryptographic hash of a JSON-like value, for the digest's grouping cache key
// (src/digest/group.ts): what JSON.stringify + SHA-1 did, at a fraction of the cost. On the bench
// mix the key's input averages 3.3 KB of JSON (16 KB for the Ruby events); with building the input,
// stringify and SHA-1 cost 19.6 µs per event, this walk 12.8 µs (micro-benchmark; BENCHMARKS.md).
//
// The value is fed as a stream of 32-bit words that decodes back to one value only: every value
// starts with a tag word, strings and arrays carry their length, objects end with a tag, string
// contents go two UTF-16 units per word. Four lanes take each word, each with its own odd
// multiplier and rotation (xor, multiply, rotate: a bijection of the lane for a given word, and of
// the word for a given lane), and are mixed together at the end. Not meant to resist crafted
// collisions: a project whose own events collide could only merge two of its own groups.

const T_NULL = 0x6e756c6c, T_TRUE = 0x74727565, T_FALSE = 0x66616c73, T_NUM = 0x6e756d21;
const T_STR = 0x73747221, T_ARR = 0x61727221, T_OBJ = 0x6f626a21, T_END = 0x656e6421;

let a = 0, b = 0, c = 0, d = 0, n = 0;
const f64 = new Float64Array(1);
const u32 = new Uint32Array(f64.buffer);

function word(w: number): void {
  a = Math.imul(a ^ w, 0x9e3779b1);
  a = (a << 13) | (a >>> 19);
  b = Math.imul(b ^ w, 0x85ebca77);
  b = (b << 17) | (b >>> 15);
  c = Math.imul(c ^ w, 0xc2b2ae3d);
  c = (c << 11) | (c >>> 21);
  d = Math.imul(d ^ w, 0x27d4eb2f);
  d = (d << 19) | (d >>> 13);
  n++;
}

// The lanes in locals for the loop: module-level variables are context slots, and updating them per
// word made this as slow as JSON.stringify + SHA-1.
function string(s: string): void {
  word(T_STR);
  const len = s.length;
  word(len);
  let A = a, B = b, C = c, D = d;
  let i = 0;
  for (; i < len; i += 2) {
    const w = i + 1 < len ? s.charCodeAt(i) | (s.charCodeAt(i + 1) << 16) : s.charCodeAt(i);
    A = Math.imul(A ^ w, 0x9e3779b1);
    A = (A << 13) | (A >>> 19);
    B = Math.imul(B ^ w, 0x85ebca77);
    B = (B << 17) | (B >>> 15);
    C = Math.imul(C ^ w, 0xc2b2ae3d);
    C = (C << 11) | (C >>> 21);
    D = Math.imul(D ^ w, 0x27d4eb2f);
    D = (D << 19) | (D >>> 13);
  }
  a = A;
  b = B;
  c = C;
  d = D;
  n += (len + 1) >> 1;
}

function value(v: unknown): void {
  switch (typeof v) {
    case 'string':
      return string(v);
    case 'number':
      f64[0] = v;
      word(T_NUM);
      word(u32[0]!);
      return word(u32[1]!);
    case 'boolean':
      return word(v ? T_TRUE : T_FALSE);
    case 'object':
      if (v === null) return word(T_NULL);
      if (Array.isArray(v)) {
        word(T_ARR);
        word(v.length);
        for (let i = 0; i < v.length; i++) value(v[i]);
        return;
      }
      word(T_OBJ);
      for (const k in v) {
        string(k);
        value((v as Record<string, unknown>)[k]);
      }
      return word(T_END);
    default:
      // undefined, functions, symbols, bigints: JSON has none of them (undefined is null in arrays)
      return word(T_NULL);
  }
}

function fmix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** 8 UTF-16 code units (any value, lone surrogates too: it is only ever a Map key): hex digits cost ~1 µs more per key. */
export function valueHash(v: unknown): string {
  a = 0x243f6a88;
  b = 0x85a308d3;
  c = 0x13198a2e;
  d = 0x03707344;
  n = 0;
  value(v);
  a ^= n; b ^= n; c ^= n; d ^= n;
  // Every output word depends on every lane.
  a = (a + b + c + d) | 0;
  b = (b + a) | 0;
  c = (c + a) | 0;
  d = (d + a) | 0;
  a = fmix(a);
  b = fmix(b);
  c = fmix(c);
  d = fmix(d);
  return String.fromCharCode(a & 0xffff, a >>> 16, b & 0xffff, b >>> 16, c & 0xffff, c >>> 16, d & 0xffff, d >>> 16);
}
