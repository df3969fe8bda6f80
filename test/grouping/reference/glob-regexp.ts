// The glob matcher before it was made linear (commit a3bec95): `*` as a backtracking `[\s\S]*`. Kept as the
// reference the linear matcher must agree with on short values (test/grouping/hostile-input.test.ts).
// Glob matching as used by stack-trace and fingerprint rules.
//  - `*` matches anything; with `doublestar` (path-like fields) `*` stops at `/` and `**` crosses it.
//  - `?` matches one character (not `/` with doublestar); `[...]` is a character class
//    (`[!...]` negated); a backslash escapes the next character.
const cache = new Map<string, RegExp>();

function escapeRe(c: string): string {
  return c.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');
}

export function globToRegExp(pattern: string, doublestar: boolean, ignoreCase: boolean): RegExp {
  const key = `${doublestar ? 1 : 0}${ignoreCase ? 1 : 0}${pattern}`;
  const hit = cache.get(key);
  if (hit) return hit;
  let re = '';
  let i = 0;
  const n = pattern.length;
  while (i < n) {
    const c = pattern[i++]!;
    if (c === '\\') {
      re += i < n ? escapeRe(pattern[i++]!) : '\\\\';
    } else if (c === '*') {
      if (doublestar) {
        if (pattern[i] === '*') {
          i++;
          re += '[\\s\\S]*';
        } else re += '[^/]*';
      } else re += '[\\s\\S]*';
    } else if (c === '?') {
      re += doublestar ? '[^/]' : '[\\s\\S]';
    } else if (c === '[') {
      let j = i;
      if (j < n && pattern[j] === '!') j++;
      if (j < n && pattern[j] === ']') j++;
      while (j < n && pattern[j] !== ']') j++;
      if (j >= n) {
        re += '\\[';
      } else {
        let body = pattern.slice(i, j).replace(/\\/g, '\\\\');
        i = j + 1;
        if (body.startsWith('!')) body = '^' + body.slice(1);
        else if (body.startsWith('^')) body = '\\' + body;
        body = body.replace(/\[/g, '\\[').replace(/\]/g, '\\]');
        if (body.startsWith('^\\]')) body = '^]' + body.slice(3);
        re += `[${body}]`;
      }
    } else {
      re += escapeRe(c);
    }
  }
  let compiled: RegExp;
  try {
    compiled = new RegExp(`^${re}$`, ignoreCase ? 'i' : '');
  } catch {
    compiled = /(?!)/;
  }
  if (cache.size > 5000) cache.clear();
  cache.set(key, compiled);
  return compiled;
}

