// Fingerprints: the client's `fingerprint`, server-side fingerprint rules (project rules
// first, then the built-in ones) and `{{ variable }}` resolution.
//
// Rule text:  matcher+ "->" value ("," value)* [attribute=value ...]
//   matcher := ["!"] key ":" (value | "quoted")   e.g.  error.type:"ChunkLoadError"
// Rules may also be given as JSON: [{matchers: [[key, pattern]], fingerprint: [...]}].
import { globMatch, pathLikeMatch } from './glob.js';
import { behaviorFamily } from './platform.js';
import { boolFromString } from './enhancers.js';
import { trimFunctionName } from './functions.js';
import { isObj, str, type Json, type SingleException, type Stacktrace, type Thread } from './event.js';

export interface FingerprintRule {
  matchers: Array<{ key: string; pattern: string; negated: boolean }>;
  fingerprint: string[];
  attributes: Record<string, string>;
  isBuiltin: boolean;
  text: string;
}

const VAR_RE = /^\{\{\s*(\S+)\s*\}\}$/;
export function fingerprintVariable(entry: string): string | null {
  const m = VAR_RE.exec(entry);
  return m ? m[1]! : null;
}
export function isDefaultVariable(entry: string): boolean {
  return fingerprintVariable(entry) === 'default';
}
export function fingerprintType(fp: string[] | null): 'default' | 'hybrid' | 'custom' | null {
  if (!fp?.length) return null;
  if (fp.length === 1 && isDefaultVariable(fp[0]!)) return 'default';
  return fp.some(isDefaultVariable) ? 'hybrid' : 'custom';
}

const KEY_ALIASES: Record<string, string> = {
  'error.type': 'type', 'error.value': 'value', 'stack.module': 'module', 'stack.abs_path': 'path',
  'stack.package': 'package', 'stack.function': 'function', 'stack.filename': 'filename',
  'thread.id': 'thread_id', 'thread.name': 'thread_name', 'thread.state': 'thread_state',
  'thread.crashed': 'thread_crashed', 'thread.current': 'thread_current',
};
const KNOWN_KEYS = new Set(['type', 'value', 'message', 'logger', 'level', 'module', 'path', 'filename',
  'package', 'function', 'family', 'app', 'sdk', 'release', 'category',
  'thread_id', 'thread_name', 'thread_state', 'thread_crashed', 'thread_current']);
function normKey(k: string): string | null {
  const key = KEY_ALIASES[k] ?? k;
  return KNOWN_KEYS.has(key) || key.startsWith('tags.') ? key : null;
}

const RULE_TOKEN = /\s*(?:(!?)([a-zA-Z0-9_.-]+):("(?:[^"\\]|\\.)*"|[^\s"]+)|(->))/y;
const FP_TOKEN = /\s*(?:([a-zA-Z0-9_.-]+)=("(?:[^"\\]|\\.)*"|[^\s,"]+)|"((?:[^"\\]|\\.)*)"|([^\s,"][^,"]*?))\s*(,|$|(?=\s+[a-zA-Z0-9_.-]+=))/y;
const unquote = (s: string) => (s.startsWith('"') && s.endsWith('"') && s.length > 1 ? s.slice(1, -1).replace(/\\(.)/g, '$1') : s);

export function parseFingerprintRules(text: string, isBuiltin = false): FingerprintRule[] {
  const t = text.trim();
  if (t.startsWith('[') || t.startsWith('{')) return fromJson(t, isBuiltin);
  const rules: FingerprintRule[] = [];
  for (const raw of text.split(/\r\n|\r|\n/)) {
    const line = raw.replace(/(^|\s)#.*$/, '').trim();
    if (!line) continue;
    const rule = parseLine(line, isBuiltin);
    if (rule) rules.push(rule);
  }
  return rules;
}

function parseLine(line: string, isBuiltin: boolean): FingerprintRule | null {
  const matchers: FingerprintRule['matchers'] = [];
  RULE_TOKEN.lastIndex = 0;
  let arrowAt = -1;
  while (RULE_TOKEN.lastIndex < line.length) {
    const m = RULE_TOKEN.exec(line);
    if (!m) return null;
    if (m[4]) {
      arrowAt = RULE_TOKEN.lastIndex;
      break;
    }
    const key = normKey(m[2]!);
    if (!key) return null;
    matchers.push({ key, pattern: unquote(m[3]!), negated: m[1] === '!' });
  }
  if (arrowAt < 0 || !matchers.length) return null;
  const fingerprint: string[] = [];
  const attributes: Record<string, string> = {};
  const rest = line.slice(arrowAt);
  FP_TOKEN.lastIndex = 0;
  while (FP_TOKEN.lastIndex < rest.length && rest.slice(FP_TOKEN.lastIndex).trim()) {
    const before = FP_TOKEN.lastIndex;
    const m = FP_TOKEN.exec(rest);
    if (!m || FP_TOKEN.lastIndex === before) return null;
    if (m[1]) attributes[m[1]] = unquote(m[2]!);
    else fingerprint.push(m[3] !== undefined ? m[3].replace(/\\(.)/g, '$1') : m[4]!.trim());
  }
  if (!fingerprint.length) return null;
  return { matchers, fingerprint, attributes, isBuiltin, text: line };
}

function fromJson(text: string, isBuiltin: boolean): FingerprintRule[] {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    return [];
  }
  const list = Array.isArray(data) ? data : isObj(data) && Array.isArray(data.rules) ? data.rules : [];
  const rules: FingerprintRule[] = [];
  for (const r of list) {
    if (!isObj(r) || !Array.isArray(r.matchers) || !Array.isArray(r.fingerprint)) continue;
    const matchers: FingerprintRule['matchers'] = [];
    for (const m of r.matchers) {
      if (!Array.isArray(m) || typeof m[0] !== 'string' || typeof m[1] !== 'string') continue;
      const neg = m[0].startsWith('!');
      const key = normKey(neg ? m[0].slice(1) : m[0]);
      if (key) matchers.push({ key, pattern: m[1], negated: neg });
    }
    const fingerprint = r.fingerprint.filter((v): v is string => typeof v === 'string');
    const attributes = isObj(r.attributes) ? (r.attributes as Record<string, string>) : {};
    if (matchers.length && fingerprint.length) {
      rules.push({ matchers, fingerprint, attributes, isBuiltin: isBuiltin || r.is_builtin === true, text: String(r.text ?? '') });
    }
  }
  return rules;
}

/** Built-in rules for JavaScript: chunk-load and hydration errors each form one issue. */
const BUILTIN_TEXT = [
  'family:javascript error.type:"ChunkLoadError" -> chunkloaderror',
  'family:javascript error.value:"ChunkLoadError*" -> chunkloaderror',
  ...[
    'Hydration failed because the initial UI does not match what was rendered on the server.',
    'The server could not finish this Suspense boundary, likely due to an error during server rendering. Switched to client rendering.',
    'There was an error while hydrating this Suspense boundary. Switched to client rendering.',
    'There was an error while hydrating. Because the error happened outside of a Suspense boundary, the entire root will switch to client rendering.',
    'Text content does not match server-rendered HTML.',
  ].map((m) => `family:javascript tags.transaction:"*" message:"${m}" -> hydrationerror, {{tags.transaction}}`),
].join('\n');
let builtinRules: FingerprintRule[] | null = null;
export function getBuiltinFingerprintRules(): FingerprintRule[] {
  return (builtinRules ??= parseFingerprintRules(BUILTIN_TEXT, true));
}

export interface FingerprintEventData {
  event: Json;
  platform: string | null;
  exceptions: SingleException[] | null;
  stacktraces: Stacktrace[];
  threads: Thread[] | null;
  messageFormatted: string | null;
}

type Values = Record<string, unknown>;

function valuesFor(kind: string, d: FingerprintEventData): Values[] {
  const ev = d.event;
  switch (kind) {
    case 'exceptions':
      return (d.exceptions ?? []).map((e) => ({ type: e.type, value: e.value ? e.value.trim() : null }));
    case 'toplevel':
      return [
        ...(d.messageFormatted ? [{ message: d.messageFormatted.trim() }] : []),
        ...valuesFor('exceptions', d),
      ];
    case 'log_info': {
      const v: Values = {};
      if (str(ev.logger)) v.logger = str(ev.logger);
      if (str(ev.level)) v.level = str(ev.level);
      return Object.keys(v).length ? [v] : [];
    }
    case 'tags':
      return [Object.fromEntries(tagPairs(ev).map(([k, v]) => [`tags.${k}`, v ? v.trim() : null]))];
    case 'sdk':
      return [{ sdk: isObj(ev.sdk) ? str(ev.sdk.name) : null }];
    case 'family':
      return [{ family: behaviorFamily(d.platform) }];
    case 'release':
      return [{ release: str(ev.release)?.trim() ?? null }];
    case 'threads': {
      const t = ev.threads;
      const list = Array.isArray(t) ? t : isObj(t) && Array.isArray(t.values) ? t.values : [];
      return list.filter(isObj).map((th) => ({
        thread_id: th.id === undefined || th.id === null ? null : String(th.id),
        thread_name: str(th.name),
        thread_state: str(th.state),
        thread_crashed: th.crashed === true,
        thread_current: th.current === true,
      }));
    }
    default:
      return d.stacktraces.flatMap((st) =>
        st.frames.map((f) => {
          const platform = f.platform || d.platform;
          const fn = f.rawFunction ? f.function : f.function ? trimFunctionName(f.function, platform) : null;
          return {
            function: fn || '<unknown>', abs_path: f.absPath || f.filename, filename: f.filename,
            module: f.module, package: f.package, app: f.inApp,
          };
        }),
      );
  }
}

/**
 * What fingerprinting can read of an event beyond its exceptions, threads, stack traces, message,
 * platform and SDK: the top-level fields (`logger`, `level`, `release`, `transaction`) and tag names
 * that `rules` match on or put into a fingerprint as `{{ variables }}`, and those the event's own
 * fingerprint names. Nothing else in grouping reads these fields, so the digest's grouping cache
 * leaves the others out of its key (src/digest/group.ts).
 */
export interface FieldsRead {
  fields: string[];
  tags: string[];
}

const fieldsReadOf = new WeakMap<FingerprintRule[], FieldsRead>();

export function fieldsReadBy(rules: FingerprintRule[]): FieldsRead {
  let read = fieldsReadOf.get(rules);
  if (!read) {
    const fields = new Set<string>();
    const tags = new Set<string>();
    for (const rule of rules) {
      for (const m of rule.matchers) noteKey(m.key, fields, tags);
      for (const entry of rule.fingerprint) noteVariable(entry, fields, tags);
    }
    read = { fields: [...fields].sort(), tags: [...tags].sort() };
    fieldsReadOf.set(rules, read);
  }
  return read;
}

/** `read` plus what the event's own fingerprint names as variables (usually nothing: the same object). */
export function withEventFingerprint(read: FieldsRead, fingerprint: unknown): FieldsRead {
  if (!Array.isArray(fingerprint) || !fingerprint.some((e) => typeof e === 'string' && e.includes('{{'))) return read;
  const fields = new Set(read.fields);
  const tags = new Set(read.tags);
  for (const e of fingerprint) if (typeof e === 'string') noteVariable(e, fields, tags);
  return { fields: [...fields].sort(), tags: [...tags].sort() };
}

function noteKey(key: string, fields: Set<string>, tags: Set<string>): void {
  if (key.startsWith('tags.')) tags.add(key.slice(5));
  else if (key === 'logger' || key === 'level' || key === 'release' || key === 'transaction') fields.add(key);
}

function noteVariable(entry: string, fields: Set<string>, tags: Set<string>): void {
  const v = fingerprintVariable(entry);
  if (v !== null) noteKey(v, fields, tags);
}

export function tagPairs(ev: Json): Array<[string, string | null]> {
  const tags = ev.tags;
  if (Array.isArray(tags)) {
    return tags.filter((t) => Array.isArray(t) && typeof t[0] === 'string').map((t) => [t[0], str(t[1])]);
  }
  if (isObj(tags)) return Object.entries(tags).map(([k, v]) => [k, str(v)]);
  return [];
}

function matchKind(key: string): string {
  if (key === 'message') return 'toplevel';
  if (key === 'logger' || key === 'level') return 'log_info';
  if (key === 'type' || key === 'value') return 'exceptions';
  if (key.startsWith('tags.')) return 'tags';
  if (key === 'sdk' || key === 'family' || key === 'release') return key;
  if (key.startsWith('thread_')) return 'threads';
  return 'frames';
}

/** Case-insensitive path match (`**` crosses directories, backslashes count as slashes). */
function pathMatch(value: string | null, pattern: string): boolean {
  return value !== null && pathLikeMatch(value.toLowerCase(), pattern.toLowerCase());
}

function positive(m: FingerprintRule['matchers'][number], v: Values): boolean {
  const { key, pattern } = m;
  const s = (x: unknown) => (typeof x === 'string' ? x : null);
  if (key === 'path') return pathMatch(s(v.abs_path), pattern) || pathMatch(s(v.filename), pattern);
  if (key === 'message') {
    return ['message', 'value'].some((k) => s(v[k]) !== null && globMatch(s(v[k]), pattern, { ignoreCase: true }));
  }
  const value = v[key];
  if (value === null || value === undefined) return false;
  if (key === 'package' || key === 'release') return pathMatch(s(value), pattern);
  if (key === 'family' || key === 'sdk') {
    const flags = pattern.split(',');
    return flags.includes('all') || flags.includes(String(value));
  }
  if (key === 'app' || key === 'thread_crashed' || key === 'thread_current') return value === boolFromString(pattern);
  const ci = key === 'level' || key === 'value' || key === 'thread_id' || key === 'thread_name' || key === 'thread_state';
  return globMatch(s(value), pattern, { ignoreCase: ci });
}

// A rule's matchers grouped by the kind of values they read, in order of first appearance (grouped
// once per rule, not per event).
const groupsOf = new WeakMap<FingerprintRule, Map<string, FingerprintRule['matchers']>>();
function matcherGroups(rule: FingerprintRule): Map<string, FingerprintRule['matchers']> {
  let groups = groupsOf.get(rule);
  if (!groups) {
    groups = new Map();
    for (const m of rule.matchers) {
      const k = matchKind(m.key);
      groups.set(k, [...(groups.get(k) ?? []), m]);
    }
    groupsOf.set(rule, groups);
  }
  return groups;
}

export function ruleMatches(rule: FingerprintRule, d: FingerprintEventData): boolean {
  for (const [kind, matchers] of matcherGroups(rule)) {
    const ok = valuesFor(kind, d).some((v) => matchers.every((m) => positive(m, v) !== m.negated));
    if (!ok) return false;
  }
  return true;
}

export function findFingerprintRule(rules: FingerprintRule[], d: FingerprintEventData): FingerprintRule | null {
  for (const r of rules) if (ruleMatches(r, d)) return r;
  return null;
}
