import { posix } from 'node:path';
import { decodedMappings, originalPositionFor, sourceContentFor, type TraceMap } from '@jridgewell/trace-mapping';
import { computeTitleAndMetadata, generateCulprit, isObj, type Json, type NormalizedEvent } from '../protocol/event.js';

// Applying source maps to a JavaScript event, pure (the maps come from resolve.ts): every minified
// frame whose file has a map becomes its original file, line, column, function and source context;
// the frames as sent stay beside them as Sentry's `raw_stacktrace`. What could not be done is
// recorded in the event's `errors` (Sentry's processing errors) and the frame is left as it came.

const JS = new Set(['javascript', 'node']);
/** Source lines around the frame's line, as Sentry shows them. */
const CONTEXT_LINES = 5;
/** Longer source lines are cut around the column, as Sentry does (it keeps 140 characters with "{snip}"). */
const MAX_LINE = 150;

export interface Needs {
  /** abs_path of every frame that can be mapped (has a line and a column). */
  files: string[];
  /** abs_path → debug id, from debug_meta.images of type sourcemap. */
  debugIds: Map<string, string>;
  /** Files of in-app frames outside node_modules: only these are worth an error when no file matches them by URL. */
  expected: Set<string>;
  release: string;
  dist: string;
}

export interface ResolvedFile {
  map: TraceMap;
  /** URL of the map (as uploaded), against which its sources are resolved. */
  mapUrl: string;
  /** The minified file, to find the original function names. */
  minified: MinifiedText | null;
  resolvedWith: 'debug-id' | 'release';
}

export interface MinifiedText {
  text: string;
  lineStarts: number[];
}

/** What resolve.ts found for one abs_path: a map, a processing error, or nothing worth saying. */
export type FileOutcome = { ok: ResolvedFile } | { error: Json };

type Stack = { holder: Json; st: Json };

function stacks(ev: Json): Stack[] {
  const out: Stack[] = [];
  const add = (holder: Json) => {
    if (isObj(holder.stacktrace) && Array.isArray(holder.stacktrace.frames)) out.push({ holder, st: holder.stacktrace });
  };
  for (const list of [(ev.exception as Json | undefined)?.values, (ev.threads as Json | undefined)?.values]) {
    if (Array.isArray(list)) for (const v of list) if (isObj(v)) add(v);
  }
  add(ev);
  return out;
}

/** A frame's file: abs_path, else filename (Node SDKs send only an absolute filename; Sentry falls back the same way). */
export function fileOf(f: Json): string | null {
  const p = typeof f.abs_path === 'string' && f.abs_path ? f.abs_path : typeof f.filename === 'string' && f.filename ? f.filename : null;
  return p;
}

/** Files no one uploads: Node's own modules, eval'd and native code. */
const NOT_A_FILE = /^(node:|native$|\[native code\]$|<anonymous>$|eval$)/;

function mappable(f: unknown, platform: string): f is Json {
  return isObj(f) && fileOf(f) !== null && !NOT_A_FILE.test(fileOf(f)!) && typeof f.lineno === 'number' && f.lineno >= 1 &&
    (typeof f.platform === 'string' ? JS.has(f.platform) : JS.has(platform));
}

/** The files of a JavaScript event that source maps could apply to; null (at once) for any other event. */
export function needsSymbolication(ev: Json): Needs | null {
  const platform = typeof ev.platform === 'string' ? ev.platform : '';
  if (!JS.has(platform)) return null;
  const files = new Set<string>();
  const expected = new Set<string>();
  for (const { st } of stacks(ev)) for (const f of st.frames as unknown[]) {
    if (!mappable(f, platform)) continue;
    const file = fileOf(f)!;
    files.add(file);
    if (f.in_app !== false && !file.includes('/node_modules/')) expected.add(file);
  }
  if (!files.size) return null;
  const debugIds = new Map<string, string>();
  const images = isObj(ev.debug_meta) && Array.isArray(ev.debug_meta.images) ? ev.debug_meta.images : [];
  for (const im of images) {
    if (isObj(im) && im.type === 'sourcemap' && typeof im.code_file === 'string' && typeof im.debug_id === 'string') debugIds.set(im.code_file, im.debug_id);
  }
  const release = typeof ev.release === 'string' ? ev.release : '';
  if (!debugIds.size && !release) return null;
  return { files: [...files], debugIds, expected, release, dist: typeof ev.dist === 'string' ? ev.dist : '' };
}

/** A source of the map resolved against the map's URL ('~/dist/app.js.map' + '../src/a.js' → '~/src/a.js'). */
export function resolveSourceUrl(mapUrl: string, source: string): string {
  if (/^[a-z][a-z0-9+.-]*:/i.test(source)) return source;
  if (mapUrl.startsWith('~/')) return '~' + posix.normalize(posix.join(posix.dirname(mapUrl.slice(1)), source));
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(mapUrl)) {
    try {
      return new URL(source, mapUrl).href;
    } catch {
      return source;
    }
  }
  return posix.normalize(posix.join(posix.dirname(mapUrl), source));
}

/** The filename Sentry shows for an original abs_path: no '~/', no scheme and host. */
export function filenameOf(absPath: string): string {
  if (absPath.startsWith('~/')) return absPath.slice(2);
  const m = /^[a-z][a-z0-9+.-]*:\/\/[^/]*(\/.*)?$/i.exec(absPath);
  if (!m) return absPath;
  const path = m[1] ?? '/';
  return /^(webpack|app):/i.test(absPath) ? path.replace(/^\/+/, '') : path;
}

function cut(line: string, col: number): string {
  if (line.length <= MAX_LINE) return line;
  const start = Math.max(0, Math.min(col - 70, line.length - 140));
  return `${start > 0 ? '{snip} ' : ''}${line.slice(start, start + 140)}${start + 140 < line.length ? ' {snip}' : ''}`;
}

export function lineStarts(text: string): number[] {
  const starts = [0];
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) starts.push(i + 1);
  return starts;
}

const IDENT = /^[A-Za-z_$][\w$]*$/;
const isIdentChar = (c: number) => (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 36 || c === 95;

/**
 * The original name of the function a minified frame is in. The minifier renamed it (`t`); the map
 * names the identifier where `t` is declared. So: search back from the frame for the nearest
 * declaration of the minified name (`function t`, `class t`, `t=`) and ask the map for the name there.
 * Bounded: at most 256 occurrences, 1 MiB back.
 */
function originalFunctionName(map: TraceMap, min: MinifiedText, line: number, col: number, rawName: string): string | null {
  const name = rawName.slice(rawName.lastIndexOf('.') + 1).replace(/^(async|new) /, '');
  if (!IDENT.test(name)) return null;
  const { text, lineStarts: starts } = min;
  const from = (starts[line - 1] ?? text.length) + col;
  const floor = Math.max(0, from - 1024 * 1024);
  let i = from;
  for (let n = 0; n < 256 && i > floor; n++) {
    i = text.lastIndexOf(name, i - 1);
    if (i < floor || i < 0) break;
    const end = i + name.length;
    if ((i > 0 && isIdentChar(text.charCodeAt(i - 1))) || (end < text.length && isIdentChar(text.charCodeAt(end)))) continue;
    let a = i - 1;
    while (a >= 0 && (text[a] === ' ' || text[a] === '*')) a--;
    const before = text.slice(Math.max(0, a - 7), a + 1);
    let b = end;
    while (b < text.length && text[b] === ' ') b++;
    const decl = /(^|[^\w$])(function|class)$/.test(before) || (text[b] === '=' && text[b + 1] !== '=' && text[b + 1] !== '>');
    if (!decl) continue;
    // offset → line/column of the generated code
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (starts[mid]! <= i) lo = mid;
      else hi = mid - 1;
    }
    const pos = originalPositionFor(map, { line: lo + 1, column: i - starts[lo]! });
    if (pos.name) return pos.name;
  }
  return null;
}

// Per parsed map, the frames it has mapped: events repeat the same frames, so only the first of a
// kind pays for the lookup, the source lines and the function-name search (1.0 ms → see README's
// figure from bench/micro/sourcemaps.ts, per event of 6 mapped frames). Held as long as the map is
// (a WeakMap on it), at most MEMO_FRAMES per map.
const MEMO_FRAMES = 10_000;
interface Mapped {
  absPath: string;
  filename: string;
  lineno: number;
  colno: number;
  fn: string | null;
  context: { line: string; pre: string[]; post: string[] } | null;
  inApp: boolean;
}
type Memo = { lines: Map<string, string[] | null>; frames: Map<string, Mapped | 'unmapped' | 'past-end'> };
const memos = new WeakMap<TraceMap, Memo>();
function memoOf(map: TraceMap): Memo {
  let m = memos.get(map);
  if (!m) memos.set(map, (m = { lines: new Map(), frames: new Map() }));
  return m;
}

function sourceLines(map: TraceMap, memo: Memo, source: string): string[] | null {
  let lines = memo.lines.get(source);
  if (lines === undefined) {
    const content = sourceContentFor(map, source);
    memo.lines.set(source, (lines = content === null ? null : content.split(/\r?\n/)));
  }
  return lines;
}

function lookup(r: ResolvedFile, memo: Memo, line: number, col: number, rawName: string | null): Mapped | 'unmapped' | 'past-end' {
  if (line > decodedMappings(r.map).length) return 'past-end';
  const pos = originalPositionFor(r.map, { line, column: col });
  if (pos.source === null || pos.line === null) return 'unmapped'; // generated code without a mapping (a banner, an injected snippet)
  const absPath = resolveSourceUrl(r.mapUrl, pos.source);
  const lines = sourceLines(r.map, memo, pos.source);
  const i = pos.line - 1;
  return {
    absPath,
    filename: filenameOf(absPath),
    lineno: pos.line,
    colno: pos.column + 1,
    fn: rawName !== null && r.minified ? originalFunctionName(r.map, r.minified, line, col, rawName) : null,
    context: lines && i < lines.length
      ? { line: cut(lines[i]!, pos.column), pre: lines.slice(Math.max(0, i - CONTEXT_LINES), i).map((l) => cut(l, 0)), post: lines.slice(i + 1, i + 1 + CONTEXT_LINES).map((l) => cut(l, 0)) }
      : null,
    inApp: !/(^|\/)node_modules\//.test(absPath),
  };
}

/** Fields of the frame as sent that describe the minified code and so do not carry over. */
const DROPPED = new Set(['module', 'pre_context', 'context_line', 'post_context']);

function mapFrame(f: Json, r: ResolvedFile, errors: Json[]): Json | null {
  const line = f.lineno as number;
  // Sentry's JS SDKs send 1-based columns; trace-mapping takes 0-based ones. No column: the start of the line.
  const col = typeof f.colno === 'number' && f.colno >= 1 ? f.colno - 1 : 0;
  const rawName = typeof f.function === 'string' ? f.function : null;
  const memo = memoOf(r.map);
  const key = `${line}:${col}:${rawName}:${r.minified ? 1 : 0}:${r.mapUrl}`;
  let m = memo.frames.get(key);
  if (m === undefined) {
    m = lookup(r, memo, line, col, rawName);
    if (memo.frames.size >= MEMO_FRAMES) memo.frames.clear();
    memo.frames.set(key, m);
  }
  if (m === 'past-end') {
    errors.push({ type: 'js_invalid_source_location', url: fileOf(f)!, line, column: col + 1, sourcemap: r.mapUrl });
    return null;
  }
  if (m === 'unmapped') return null;
  // A copy without the minified-only fields (no `delete`: it would make every frame a slow dictionary object).
  const out: Json = {};
  for (const k in f) if (!DROPPED.has(k)) out[k] = f[k];
  out.abs_path = m.absPath;
  out.filename = m.filename;
  out.lineno = m.lineno;
  out.colno = m.colno;
  if (m.fn) out.function = m.fn;
  if (m.context) {
    out.context_line = m.context.line;
    out.pre_context = m.context.pre;
    out.post_context = m.context.post;
  } else {
    errors.push({ type: 'js_missing_sources_content', source: m.absPath, sourcemap: r.mapUrl });
  }
  out.in_app = m.inApp;
  out.data = { ...(isObj(f.data) ? f.data : {}), sourcemap: r.mapUrl, resolved_with: r.resolvedWith, symbolicated: true };
  return out;
}

/**
 * Applies the outcomes to the event in place: mapped frames replace the sent ones (kept in
 * `raw_stacktrace`), errors are added once each; title, metadata and a computed culprit follow the
 * original frames. Returns whether anything changed.
 */
export function applySourceMaps(ev: NormalizedEvent, outcomes: Map<string, FileOutcome>): boolean {
  const platform = typeof ev.platform === 'string' ? ev.platform : '';
  const errors: Json[] = [];
  const culpritWasComputed = ev.culprit === generateCulprit(ev);
  let changed = false;
  for (const { holder, st } of stacks(ev)) {
    const frames = st.frames as unknown[];
    const mapped = frames.map((f) => {
      if (!mappable(f, platform)) return f;
      const o = outcomes.get(fileOf(f)!);
      if (!o) return f;
      if ('error' in o) return errors.push(o.error), f;
      return mapFrame(f, o.ok, errors) ?? f;
    });
    if (mapped.some((f, i) => f !== frames[i])) {
      holder.raw_stacktrace = { ...st, frames };
      holder.stacktrace = { ...st, frames: mapped };
      changed = true;
    }
  }
  if (errors.length) {
    const seen = new Set<string>();
    const list = Array.isArray(ev.errors) ? [...(ev.errors as unknown[])] : [];
    for (const e of errors) {
      const k = JSON.stringify(e);
      if (!seen.has(k)) seen.add(k), list.push(e);
    }
    ev.errors = list;
    changed = true;
  }
  if (changed) {
    const { title, metadata, location } = computeTitleAndMetadata(ev, ev.type);
    ev.title = title;
    ev.metadata = metadata;
    ev.location = location;
    if (culpritWasComputed) ev.culprit = generateCulprit(ev);
  }
  return changed;
}
