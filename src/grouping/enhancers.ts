// Stack-trace rules ("enhancements"): a parser for the rule language and the two passes that
// apply rules to a stack trace.
//
//   rule     := [ "[" matcher "]" "|" ] matcher+ [ "|" "[" matcher "]" ] action+
//   matcher  := ["!"] key ":" (value | "quoted value")
//   action   := ["^" | "v"] ("+" | "-") ("app" | "group" | "prefix" | "sentinel")
//             | ("category" | "max-frames" | "min-frames" | "invert-stacktrace") "=" value
//
// Pass 1 (classification) runs before grouping: `+app`/`-app` set frame.in_app and
// `category=` sets a frame category that later rules can match. Pass 2 (contribution) runs
// while assembling a stack-trace component: `+group`/`-group` switch frames on or off.
// Frames are ordered oldest call first; `^` acts on frames after the match (towards the crash),
// `v` on frames before it. Within a rule, all matching frames are found before any action runs.
import { compileGlob, type Glob } from './glob.js';
import { DEFAULT_ENHANCEMENTS } from './default-rules.js';

export interface MatchFrame {
  category: string | null;
  family: string;
  function: string;
  inApp: boolean | null;
  module: string | null;
  package: string | null;
  path: string | null;
}
export interface ExceptionData {
  type?: unknown;
  value?: unknown;
  mechanism?: unknown;
}

type MatcherKey =
  | 'path' | 'package' | 'function' | 'module' | 'category' | 'family' | 'app'
  | 'type' | 'value' | 'mechanism';
const KEY_ALIASES: Record<string, MatcherKey> = {
  'stack.module': 'module', 'stack.abs_path': 'path', 'stack.package': 'package',
  'stack.function': 'function', 'error.type': 'type', 'error.value': 'value',
  'error.mechanism': 'mechanism', module: 'module', path: 'path', package: 'package',
  function: 'function', category: 'category', family: 'family', app: 'app',
  type: 'type', value: 'value', mechanism: 'mechanism',
};

export interface FrameMatcher {
  key: MatcherKey;
  pattern: string;
  negated: boolean;
  text: string;
  /** compiled pattern; results per category name (categories are tested on every frame) */
  re?: Glob;
  memo?: Map<string, boolean>;
  families?: Set<string>;
  /** the pattern when it has no wildcard (category matchers) */
  literal?: string | null;
  appRef?: boolean | null;
}
export interface Matcher { kind: 'frame' | 'caller' | 'callee'; m: FrameMatcher }
export interface FlagAction { kind: 'flag'; key: string; flag: boolean; range: 'up' | 'down' | null }
export interface VarAction { kind: 'var'; name: string; value: string }
export interface Rule {
  matchers: Matcher[];
  actions: Array<FlagAction | VarAction>;
  text: string;
  /** sets in_app or a category (classification pass) */
  classifies: boolean;
  /** switches frames on/off or sets max/min-frames (contribution pass) */
  contributes: boolean;
}

export class InvalidRulesError extends Error {}

export function boolFromString(v: string | null | undefined): boolean | null {
  if (!v) return null;
  const l = v.toLowerCase();
  if (l === '1' || l === 'yes' || l === 'true') return true;
  if (l === '0' || l === 'no' || l === 'false') return false;
  return null;
}

function unescapeQuoted(s: string): string {
  return s.replace(/\\(["\\])/g, '$1');
}

const TOKEN = /\s*(\[|\]|\||(!?)([a-zA-Z0-9_.-]+|"[a-zA-Z0-9_.:-]+"):("(?:[^"\\]|\\.)*"|\S+)|([v^]?)([+-])(group|app|prefix|sentinel)\b|(max-frames|min-frames|invert-stacktrace|category)\s*=\s*([a-zA-Z0-9_.-]+))/y;

function parseMatcher(neg: string, key: string, arg: string): FrameMatcher {
  const rawKey = key.startsWith('"') ? key.slice(1, -1).replace(/^!+/, '') : key;
  const k = KEY_ALIASES[rawKey];
  if (!k) throw new InvalidRulesError(`unknown matcher '${rawKey}'`);
  let pattern = arg.startsWith('"') && arg.endsWith('"') && arg.length >= 2 ? unescapeQuoted(arg.slice(1, -1)) : arg;
  if (k === 'path' || k === 'package') pattern = pattern.toLowerCase();
  const shown = pattern.split(/\s+/).length === 1 && !/\s/.test(pattern) ? pattern : `"${pattern}"`;
  return { key: k, pattern, negated: neg === '!', text: `${neg}${k}:${shown}` };
}

/** Parses one rule line (without comment). Throws InvalidRulesError on bad syntax. */
export function parseRule(line: string): Rule {
  const matchers: Matcher[] = [];
  const actions: Rule['actions'] = [];
  TOKEN.lastIndex = 0;
  const toks: RegExpExecArray[] = [];
  while (TOKEN.lastIndex < line.length) {
    if (/^\s*$/.test(line.slice(TOKEN.lastIndex))) break;
    const m = TOKEN.exec(line);
    if (!m) throw new InvalidRulesError(`invalid syntax near "${line.slice(TOKEN.lastIndex, TOKEN.lastIndex + 32)}"`);
    toks.push(m);
  }
  let i = 0;
  const tok = (j: number) => toks[j]?.[1];
  if (tok(0) === '[') {
    const inner = toks[1];
    if (!inner?.[3] || tok(2) !== ']' || tok(3) !== '|') throw new InvalidRulesError('bad caller matcher');
    matchers.push({ kind: 'caller', m: parseMatcher(inner[2] ?? '', inner[3], inner[4]!) });
    i = 4;
  }
  for (; i < toks.length; i++) {
    const t = toks[i]!;
    if (t[1] === '|' && tok(i + 1) === '[' && toks[i + 2]?.[3] && tok(i + 3) === ']') {
      const inner = toks[i + 2]!;
      matchers.push({ kind: 'callee', m: parseMatcher(inner[2] ?? '', inner[3]!, inner[4]!) });
      i += 3;
    } else if (t[3] !== undefined) {
      if (actions.length) throw new InvalidRulesError('matcher after action');
      matchers.push({ kind: 'frame', m: parseMatcher(t[2] ?? '', t[3], t[4]!) });
    } else if (t[6] !== undefined) {
      actions.push({ kind: 'flag', key: t[7]!, flag: t[6] === '+', range: t[5] === '^' ? 'up' : t[5] === 'v' ? 'down' : null });
    } else if (t[8] !== undefined) {
      actions.push({ kind: 'var', name: t[8], value: t[9]! });
    } else {
      throw new InvalidRulesError(`unexpected '${t[1]}'`);
    }
  }
  if (!matchers.length || !actions.length) throw new InvalidRulesError('rule needs matchers and actions');
  const text = [
    ...matchers.map((m) => (m.kind === 'caller' ? `[ ${m.m.text} ] |` : m.kind === 'callee' ? `| [ ${m.m.text} ]` : m.m.text)),
    ...actions.map((a) => (a.kind === 'var' ? `${a.name}=${a.value}` : `${a.range === 'up' ? '^' : a.range === 'down' ? 'v' : ''}${a.flag ? '+' : '-'}${a.key}`)),
  ].join(' ');
  const classifies = actions.some((a) => (a.kind === 'flag' && a.key === 'app') || (a.kind === 'var' && a.name === 'category'));
  const contributes = actions.some(
    (a) => (a.kind === 'flag' && a.key === 'group') || (a.kind === 'var' && (a.name === 'max-frames' || a.name === 'min-frames')),
  );
  return { matchers, actions, text, classifies, contributes };
}

/** Parses rule text; with `lenient`, bad lines are skipped instead of failing the whole text. */
export function parseRules(text: string, lenient = false): Rule[] {
  const rules: Rule[] = [];
  for (const raw of String(text ?? '').split(/\r\n|\r|\n/)) {
    const line = stripComment(raw).trim();
    if (!line) continue;
    try {
      rules.push(parseRule(line));
    } catch (e) {
      if (!lenient) throw e;
    }
  }
  return rules;
}

function stripComment(line: string): string {
  let inQuote = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (c === '\\' && inQuote) i++;
    else if (c === '"') inQuote = !inQuote;
    else if (c === '#' && !inQuote && (i === 0 || /\s/.test(line[i - 1]!))) return line.slice(0, i);
  }
  return line;
}

let defaultRules: Rule[] | null = null;
export function getDefaultRules(): Rule[] {
  return (defaultRules ??= parseRules(DEFAULT_ENHANCEMENTS));
}

function exceptionField(ex: ExceptionData | null, key: MatcherKey): string {
  if (!ex) return '<unknown>';
  let v: unknown;
  if (key === 'type') v = ex.type;
  else if (key === 'value') v = ex.value;
  else v = (ex.mechanism as { type?: unknown } | null | undefined)?.type;
  return typeof v === 'string' && v ? v : '<unknown>';
}

const PATH_LIKE = new Set<MatcherKey>(['path', 'package']);

/**
 * Tests a value against a matcher's glob. Patterns match case-insensitively; path-like
 * patterns (path, package) use path semantics (`*` stays within a directory, `**` crosses
 * directories) and also match a relative value as if it started with `/`.
 */
function globTest(m: FrameMatcher, value: string): boolean {
  if (PATH_LIKE.has(m.key)) {
    // pathLikeMatch with the pattern compiled once: backslashes count as slashes, and a value not
    // starting with `/` is tried again with one.
    m.re ??= compileGlob(m.pattern.replace(/\\/g, '/'), true, false);
    const v = value.includes('\\') ? value.replace(/\\/g, '/') : value;
    return m.re.test(v) || (!value.startsWith('/') && m.re.test('/' + v));
  }
  m.re ??= compileGlob(m.pattern, false, true);
  // Only categories are memoized: their values are the few names the rules assign. Frame fields
  // are matched once per distinct frame (compiled-rules.ts caches the outcome).
  if (m.key !== 'category') return m.re.test(value);
  const memo = (m.memo ??= new Map());
  let r = memo.get(value);
  if (r === undefined) memo.set(value, (r = m.re.test(value)));
  return r;
}

/**
 * Categories are tested on most frames of JVM and native stack traces by ~40 rules. A pattern
 * without wildcards matches the identical name, and only names of its length (each pattern
 * character matches one character, case-insensitively): most tests end there.
 */
function categoryTest(m: FrameMatcher, value: string): boolean {
  if (m.literal === undefined) m.literal = /[*?[\\]/.test(m.pattern) ? null : m.pattern;
  if (m.literal !== null) {
    if (value === m.literal) return true;
    if (value.length !== m.literal.length) return false;
  }
  return globTest(m, value);
}

function positiveMatch(m: FrameMatcher, f: MatchFrame, ex: ExceptionData | null): boolean {
  switch (m.key) {
    case 'path': return f.path !== null && globTest(m, f.path);
    case 'package': return f.package !== null && globTest(m, f.package);
    case 'function': return globTest(m, f.function);
    case 'module': return f.module !== null && globTest(m, f.module);
    case 'category': return f.category !== null && categoryTest(m, f.category);
    case 'family': {
      const flags = (m.families ??= new Set(m.pattern.split(',')));
      return flags.has('all') || flags.has(f.family);
    }
    case 'app': {
      // A frame without an in-app flag counts as not in-app.
      if (m.appRef === undefined) m.appRef = boolFromString(m.pattern);
      return m.appRef !== null && m.appRef === (f.inApp ?? false);
    }
    default: return globTest(m, exceptionField(ex, m.key));
  }
}

/** Whether one matcher (negation included) holds for a frame (or, for error.* keys, for `ex`). */
export function matcherHolds(m: FrameMatcher, f: MatchFrame | undefined, ex: ExceptionData | null): boolean {
  const r = positiveMatch(m, f!, ex);
  return m.negated ? !r : r;
}

function matchesAt(m: FrameMatcher, frames: MatchFrame[], idx: number, ex: ExceptionData | null): boolean {
  return matcherHolds(m, frames[idx], ex);
}

export const EXCEPTION_KEYS: ReadonlySet<string> = new Set<MatcherKey>(['type', 'value', 'mechanism']);

/** Indices of frames matched by the rule (all matchers hold for the frame / its neighbours). */
export function matchingFrames(rule: Rule, frames: MatchFrame[], ex: ExceptionData | null): number[] {
  for (const { kind, m } of rule.matchers) {
    if (kind === 'frame' && EXCEPTION_KEYS.has(m.key) && !matchesAt(m, [frames[0]!], 0, ex)) return [];
  }
  const out: number[] = [];
  for (let idx = 0; idx < frames.length; idx++) {
    let ok = true;
    for (const { kind, m } of rule.matchers) {
      if (kind === 'frame') {
        if (EXCEPTION_KEYS.has(m.key)) continue;
        ok = matchesAt(m, frames, idx, ex);
      } else if (kind === 'caller') ok = idx > 0 && matchesAt(m, frames, idx - 1, ex);
      else ok = idx < frames.length - 1 && matchesAt(m, frames, idx + 1, ex);
      if (!ok) break;
    }
    if (ok) out.push(idx);
  }
  return out;
}

export function sliceRange<T>(seq: T[], idx: number, range: FlagAction['range']): T[] {
  if (range === null) return [seq[idx]!];
  return range === 'down' ? seq.slice(0, idx) : seq.slice(idx + 1);
}

/** The classification actions (in-app flags, categories) of one rule on its matched frames. */
export function applyClassification(rule: Rule, frames: MatchFrame[], hits: readonly number[]): void {
  for (const idx of hits) {
    for (const a of rule.actions) {
      if (a.kind === 'flag' && a.key === 'app') {
        for (const f of sliceRange(frames, idx, a.range)) f.inApp = a.flag;
      } else if (a.kind === 'var' && a.name === 'category') {
        frames[idx]!.category = a.value;
      }
    }
  }
}

/**
 * Classification pass, interpreted rule by rule: sets the in-app flag and category of every
 * frame as all rules leave them (`inApp` starts from the client's value). The engine runs the
 * compiled form (compiled-rules.ts); this is its reference, checked against it by the tests.
 */
export function classifyFrames(rules: Rule[], frames: MatchFrame[], ex: ExceptionData | null): void {
  if (!frames.length) return;
  for (const rule of rules) {
    if (!rule.classifies) continue;
    applyClassification(rule, frames, matchingFrames(rule, frames, ex));
  }
}
