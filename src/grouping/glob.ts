// Glob matching as used by stack-trace and fingerprint rules.
//  - `*` matches anything; with `doublestar` (path-like fields) `*` stops at `/` and `**` crosses it.
//  - `?` matches one character (not `/` with doublestar); `[...]` is a character class
//    (`[!...]` negated); a backslash escapes the next character.
//
// Matched by a state-set simulation (a Thompson NFA), not a backtracking regex: rules are written by
// any UI user and applied to public-DSN event data, and the regex this replaced (`*` as `[\s\S]*`)
// cost 34 s for `*a*a*a*a*b` against 200 characters. Here each character of the value advances a
// set of at most (pattern tokens + 1) states once: time is O(value length × active states), never
// exponential, whatever the pattern. GLOB_LIMITS caps the pattern so that the factor stays small;
// rules over it are refused when saved (validate.ts). Case-insensitive matching folds characters
// as a regex `i` flag without `u` does (ES Canonicalize), so results equal the regex it replaced.

/** Caps on one pattern, checked when rules are saved (validate.ts): the matcher's cost per value character grows with them. */
export const GLOB_LIMITS = {
  /** Characters of one pattern. Sentry's own built-in rules use at most 52. */
  chars: 256,
  /** `*` / `**` wildcards in one pattern (each keeps a state alive across the value). */
  stars: 16,
};

/** Why a pattern may not be saved, or null. */
export function globLimitError(pattern: string): string | null {
  if (pattern.length > GLOB_LIMITS.chars) return `pattern is longer than ${GLOB_LIMITS.chars} characters`;
  let stars = 0;
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '\\') i++;
    else if (c === '*') {
      stars++;
      while (pattern[i + 1] === '*') i++;
    }
  }
  if (stars > GLOB_LIMITS.stars) return `pattern has more than ${GLOB_LIMITS.stars} wildcards (*)`;
  return null;
}

export interface Glob {
  test(value: string): boolean;
}

const STAR = 0; // `*`, or `**` without doublestar: any run
const STAR_NO_SLASH = 1; // `*` with doublestar: any run without `/`
const ANY = 2; // `?` without doublestar
const ANY_NO_SLASH = 3; // `?` with doublestar
const LIT = 4;
const CLASS = 5;

interface Token {
  kind: number;
  /** LIT: the canonical code unit */
  code: number;
  /** CLASS: a one-character regex; it cannot backtrack */
  cls: RegExp | null;
}

const SLASH = 47;

/** ES Canonicalize for a non-unicode case-insensitive regex: upper-case unless that leaves ASCII or is not one unit. */
function canon(code: number): number {
  if (code < 65) return code;
  if (code < 128) return code >= 97 && code <= 122 ? code - 32 : code;
  const ch = String.fromCharCode(code);
  const up = ch.toUpperCase();
  if (up.length !== 1) return code;
  const u = up.charCodeAt(0);
  return u < 128 ? code : u;
}

function classRegExp(body: string, ignoreCase: boolean): RegExp {
  let b = body.replace(/\\/g, '\\\\');
  let negate = false;
  if (b.startsWith('!')) {
    negate = true;
    b = b.slice(1);
  } else if (b.startsWith('^')) b = '\\' + b;
  b = b.replace(/\[/g, '\\[').replace(/\]/g, '\\]');
  return new RegExp(`^[${negate ? '^' : ''}${b}]$`, ignoreCase ? 'i' : '');
}

function tokenize(pattern: string, doublestar: boolean, ignoreCase: boolean): Token[] | null {
  const out: Token[] = [];
  const lit = (c: number) => out.push({ kind: LIT, code: ignoreCase ? canon(c) : c, cls: null });
  const star = (kind: number) => {
    // a run of wildcards is one wildcard: it crosses `/` when any of them does
    const last = out[out.length - 1];
    if (last && (last.kind === STAR || last.kind === STAR_NO_SLASH)) {
      if (kind === STAR) last.kind = STAR;
    } else out.push({ kind, code: 0, cls: null });
  };
  let i = 0;
  const n = pattern.length;
  while (i < n) {
    const c = pattern[i++]!;
    if (c === '\\') {
      lit(i < n ? pattern.charCodeAt(i++) : 92);
    } else if (c === '*') {
      if (doublestar && pattern[i] === '*') {
        i++;
        star(STAR);
      } else star(doublestar ? STAR_NO_SLASH : STAR);
    } else if (c === '?') {
      out.push({ kind: doublestar ? ANY_NO_SLASH : ANY, code: 0, cls: null });
    } else if (c === '[') {
      let j = i;
      if (j < n && pattern[j] === '!') j++;
      if (j < n && pattern[j] === ']') j++;
      while (j < n && pattern[j] !== ']') j++;
      if (j >= n) {
        lit(91);
      } else {
        let cls: RegExp;
        try {
          cls = classRegExp(pattern.slice(i, j), ignoreCase);
        } catch {
          return null; // e.g. a reversed range `[z-a]`: the pattern matches nothing
        }
        i = j + 1;
        out.push({ kind: CLASS, code: 0, cls });
      }
    } else {
      lit(c.charCodeAt(0));
    }
  }
  return out;
}

class NfaGlob implements Glob {
  private readonly m: number;
  // scratch state sets, reused (matching is synchronous)
  private cur: Int32Array;
  private next: Int32Array;
  private mark: Int32Array;
  private gen = 0;
  private readonly literal: boolean;
  private readonly needChar: boolean;
  /**
   * Patterns of at most 30 tokens (nearly all) run bit-parallel: state k is bit k, and one
   * character advances every state in a few integer operations (`*a*a*a*a*b` over 1 MB: ~10 ms,
   * against ~170 ms one state at a time). Per character code: [token bits it matches, wildcard
   * bits it stays in]; ASCII in an array, others computed each time.
   */
  private readonly masks: Int32Array | null;
  private starBits = 0;

  constructor(private readonly toks: Token[], private readonly ignoreCase: boolean) {
    this.m = toks.length;
    this.cur = new Int32Array(this.m + 1);
    this.next = new Int32Array(this.m + 1);
    this.mark = new Int32Array(this.m + 1);
    this.literal = toks.every((t) => t.kind !== STAR && t.kind !== STAR_NO_SLASH);
    this.needChar = toks.some((t) => t.kind === CLASS);
    this.masks = this.m <= 30 ? new Int32Array(256).fill(-1) : null;
    for (let k = 0; k < this.m; k++) if (toks[k]!.kind === STAR || toks[k]!.kind === STAR_NO_SLASH) this.starBits |= 1 << k;
  }

  private maskOf(code: number, ch: string): [number, number] {
    let match = 0;
    let star = 0;
    for (let k = 0; k < this.m; k++) {
      const t = this.toks[k]!;
      if (t.kind === STAR) star |= 1 << k;
      else if (t.kind === STAR_NO_SLASH) {
        if (code !== SLASH) star |= 1 << k;
      } else if (this.one(t, code, ch)) match |= 1 << k;
    }
    return [match, star];
  }

  private testBits(value: string): boolean {
    const masks = this.masks!;
    const sb = this.starBits;
    let d = 1 | ((1 & sb) << 1);
    for (let i = 0; i < value.length && d !== 0; i++) {
      const code = value.charCodeAt(i);
      let match: number;
      let star: number;
      if (code < 128) {
        match = masks[2 * code]!;
        star = masks[2 * code + 1]!;
        if (match === -1) {
          [match, star] = this.maskOf(code, value[i]!);
          masks[2 * code] = match;
          masks[2 * code + 1] = star;
        }
      } else [match, star] = this.maskOf(code, value[i]!);
      d = ((d & match) << 1) | (d & star);
      d |= (d & sb) << 1;
    }
    return ((d >>> this.m) & 1) === 1;
  }

  private one(t: Token, code: number, ch: string): boolean {
    switch (t.kind) {
      case ANY: return true;
      case ANY_NO_SLASH: return code !== SLASH;
      case LIT: return t.code === (this.ignoreCase ? canon(code) : code);
      default: return t.cls!.test(ch);
    }
  }

  /** Adds state s (and the state after it when s is a wildcard, which may match nothing). */
  private add(set: Int32Array, len: number, s: number): number {
    const mark = this.mark;
    const g = this.gen;
    for (;;) {
      if (mark[s] === g) return len;
      mark[s] = g;
      set[len++] = s;
      if (s < this.m && (this.toks[s]!.kind === STAR || this.toks[s]!.kind === STAR_NO_SLASH)) s++;
      else return len;
    }
  }

  test(value: string): boolean {
    const { m, toks } = this;
    const n = value.length;
    if (this.literal) {
      // no wildcard run: one position per token
      if (n !== m) return false;
      for (let i = 0; i < n; i++) if (!this.one(toks[i]!, value.charCodeAt(i), value[i]!)) return false;
      return true;
    }
    if (this.masks) return this.testBits(value);
    let cur = this.cur;
    let next = this.next;
    this.gen++;
    let curLen = this.add(cur, 0, 0);
    for (let i = 0; i < n && curLen > 0; i++) {
      const code = value.charCodeAt(i);
      const ch = this.needChar ? value[i]! : '';
      this.gen++;
      let nextLen = 0;
      for (let k = 0; k < curLen; k++) {
        const s = cur[k]!;
        if (s === m) continue;
        const t = toks[s]!;
        if (t.kind === STAR) nextLen = this.add(next, nextLen, s);
        else if (t.kind === STAR_NO_SLASH) {
          if (code !== SLASH) nextLen = this.add(next, nextLen, s);
        } else if (this.one(t, code, ch)) nextLen = this.add(next, nextLen, s + 1);
      }
      const tmp = cur;
      cur = next;
      next = tmp;
      curLen = nextLen;
    }
    for (let k = 0; k < curLen; k++) if (cur[k] === m) return true;
    return false;
  }
}

const NEVER: Glob = { test: () => false };
const cache = new Map<string, Glob>();

export function compileGlob(pattern: string, doublestar: boolean, ignoreCase: boolean): Glob {
  const key = `${doublestar ? 1 : 0}${ignoreCase ? 1 : 0}${pattern}`;
  const hit = cache.get(key);
  if (hit) return hit;
  const toks = tokenize(pattern, doublestar, ignoreCase);
  const compiled = toks ? new NfaGlob(toks, ignoreCase) : NEVER;
  if (cache.size > 5000) cache.clear();
  cache.set(key, compiled);
  return compiled;
}

export function globMatch(
  value: string | null | undefined,
  pattern: string,
  opts: { doublestar?: boolean; ignoreCase?: boolean; pathNormalize?: boolean } = {},
): boolean {
  if (value === null || value === undefined) return false;
  let v = value;
  let p = pattern;
  if (opts.pathNormalize) {
    v = v.replace(/\\/g, '/');
    p = p.replace(/\\/g, '/');
  }
  return compileGlob(p, !!opts.doublestar, !!opts.ignoreCase).test(v);
}

/** Path-like match: also tries the value with a leading slash, so `**​/foo/**` matches `foo/x`. */
export function pathLikeMatch(value: string | null | undefined, pattern: string): boolean {
  if (value === null || value === undefined) return false;
  const o = { doublestar: true, pathNormalize: true };
  if (globMatch(value, pattern, o)) return true;
  return !value.startsWith('/') && globMatch('/' + value, pattern, o);
}
