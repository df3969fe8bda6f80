// Function-name normalization for native (C/C++/Rust/Swift/Objective-C) and C# frames.
// Native symbols lose argument lists, return types, template arguments (`<T>`), C++ trailers
// (`const`, `&`), compiler-specific lambda names, MSVC anonymous-namespace hashes, Rust hash
// suffixes, glibc symbol versions and Windows decoration; Swift closures/thunks are named
// `closure` / `closure in f` / `thunk for closure`.
import { behaviorFamily } from './platform.js';

const WINDECL_HASH = /^@?(.*?)@[0-9]+$/;
const RUST_HASH = /::h[a-z0-9]{16}$/;
const GNU_VERSION = /@@?GLIBC_([0-9.]+)$/;
const CPP_TRAILER = /(\bconst\b|&)$/;
const RUST_BLANKET = /^([A-Z] as )/;
const LAMBDA = /\{lambda\(.*?\)#\d+\}|\blambda_[a-f0-9]{32}\b|\$_\d+\b/g;
const LAMBDA_AT_START = /^(?:\{lambda\(.*?\)#\d+\}|\blambda_[a-f0-9]{32}\b|\$_\d+\b)/;
const ANON_NAMESPACE = /\?A0x[a-f0-9]{8}::/g;
const TOKEN_BREAK = /\s|[({<[]/;
const PAIRS: Record<string, string> = { '(': ')', '{': '}', '[': ']', '<': '>' };

/** Removes balanced `start ... end` sections; `replacement` may supply text for each one. */
export function replaceEnclosed(
  s: string,
  start: string,
  end: string,
  replacement: string | ((inner: string, at: number) => string) | null,
): string {
  if (!s.includes(start)) return s;
  let depth = 0;
  let pairStart = 0;
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c === start) {
      if (depth === 0) pairStart = i;
      depth++;
    } else if (c === end) {
      depth--;
      if (depth === 0) {
        if (typeof replacement === 'string') out += replacement;
        else if (replacement) out += replacement(s.slice(pairStart + 1, i), pairStart);
      }
    } else if (depth === 0) out += c;
  }
  return out;
}

/** Splits on whitespace that is not inside brackets of any kind. */
export function splitFuncTokens(s: string): string[] {
  if (s && !TOKEN_BREAK.test(s)) return [s];
  const rv: string[][] = [];
  let buf: string[] = [];
  const stack: string[] = [];
  let end = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c in PAIRS) stack.push(PAIRS[c]!);
    else if (stack.length && c === stack[stack.length - 1]) {
      stack.pop();
      if (!stack.length) {
        buf.push(s.slice(end, i + 1));
        end = i + 1;
      }
    } else if (!stack.length) {
      if (/\s/.test(c)) {
        if (buf.length) rv.push(buf);
        buf = [];
      } else buf.push(s.slice(end, i + 1));
      end = i + 1;
    }
  }
  if (buf.length) rv.push(buf);
  return rv.map((b) => b.join(''));
}

// Trimmed native names, per distinct symbol: each native frame needs its name twice (rules, then
// the function component) and the same symbols come back in event after event; trimming one costs
// ~2-5 µs. 4,096 entries of names ≤ 256 characters (key and value ≤ ~1 KB as UTF-16, plus map
// overhead): at most ~5 MB, ~0.5 MB with typical 60-character symbols. Oldest entries go first.
const MAX_NAMES = 4096;
const MAX_NAME = 256;
const nativeNames = new Map<string, string>();

function cachedNativeName(fn: string, platform: string | null): string {
  if (fn.length > MAX_NAME) return trimNativeFunctionName(fn, platform);
  // The platform only matters for Swift / Cocoa closures.
  const key = (platform === 'cocoa' || platform === 'swift' ? 's' : 'n') + fn;
  let v = nativeNames.get(key);
  if (v === undefined) {
    v = trimNativeFunctionName(fn, platform);
    if (nativeNames.size >= MAX_NAMES) nativeNames.delete(nativeNames.keys().next().value!);
    nativeNames.set(key, v);
  }
  return v;
}

export function trimFunctionName(fn: string, platform: string | null): string {
  if (platform === 'csharp') return fn.split(' (')[0]!;
  if (behaviorFamily(platform) === 'native') return cachedNativeName(fn, platform);
  return fn;
}

function processGenerics(value: string, start: number): string {
  if (value === 'lambda' || LAMBDA_AT_START.test(value)) return `<${value}>`;
  if (start > 0) return '<T>';
  let v = value.replace(RUST_BLANKET, '');
  v = replaceEnclosed(v, '<', '>', processGenerics);
  return v.split(' as ')[0]!;
}

export function trimNativeFunctionName(original: string, platform: string | null): string {
  if (original === '<redacted>' || original === '<unknown>') return original;
  let fn = original.trim();
  if (fn.startsWith('[') || fn.startsWith('+[') || fn.startsWith('-[')) return fn;

  // `[clone .cold]` style annotations go, other bracketed parts stay
  fn = replaceEnclosed(fn, '[', ']', (v) => (v.startsWith('clone .') ? '' : `[${v}]`)).trimEnd();
  for (let m = CPP_TRAILER.exec(fn); m; m = CPP_TRAILER.exec(fn)) fn = fn.slice(0, m.index).trimEnd();

  // protect operators and arrows from the bracket balancing below
  fn = fn
    .split('operator<<').join('operator⟨⟨')
    .split('operator<').join('operator⟨')
    .split('operator()').join('operator◯')
    .split('operator->').join('operator⟿')
    .split(' -> ').join(' ⟿ ')
    .split("`anonymous namespace'").join('〔anonymousnamespace〕');

  if (fn.includes('lambda') || fn.includes('$_')) fn = fn.replace(LAMBDA, 'lambda');
  if (fn.includes('?A0x')) fn = fn.replace(ANON_NAMESPACE, '〔anonymousnamespace〕::');

  fn = replaceEnclosed(fn, '(', ')', (v) => {
    const t = v.trim();
    return t === 'anonymous namespace' || t === 'operator' ? `(${t})` : '';
  });
  fn = replaceEnclosed(fn, '<', '>', processGenerics);

  const isThunk = fn.includes('thunk for ');
  const tokens = splitFuncTokens(fn);
  if (tokens.length > 1 && tokens[tokens.length - 1] === '<T>') {
    tokens.pop();
    tokens[tokens.length - 1] += ' <T>';
  }

  let funcToken: string | undefined;
  if (fn.includes('initialization expression of')) {
    const lastOf = tokens.lastIndexOf('of');
    funcToken = tokens[lastOf + 1];
    if (funcToken === 'static') funcToken = tokens[lastOf + 2];
    if (funcToken?.startsWith(':')) funcToken = funcToken.slice(1);
    funcToken = 'initializer expression of ' + (funcToken ?? '');
  } else if (tokens.length) {
    const lastArrow = tokens.lastIndexOf('⟿');
    if (lastArrow >= 1) {
      funcToken = tokens[lastArrow - 1];
      if (funcToken === 'throws' && lastArrow >= 2) funcToken = tokens[lastArrow - 2];
    } else funcToken = tokens[tokens.length - 1];
  }

  if (funcToken) {
    if (funcToken.startsWith('@') && (platform === 'cocoa' || platform === 'swift')) {
      funcToken = (isThunk ? 'thunk for ' : '') + 'closure';
    } else if (tokens.includes('closure') && funcToken !== 'closure') {
      funcToken = 'closure in ' + funcToken;
    }
    fn = funcToken
      .split('⟨').join('<')
      .split('◯').join('()')
      .split('⟿').join('->')
      .split('〔anonymousnamespace〕').join("`anonymous namespace'");
  } else {
    fn = original;
  }

  if (fn.includes('::h')) fn = fn.replace(RUST_HASH, '');
  if (fn.includes('@GLIBC_')) fn = fn.replace(GNU_VERSION, '');
  return fn.includes('@') ? fn.replace(WINDECL_HASH, '$1') : fn;
}
