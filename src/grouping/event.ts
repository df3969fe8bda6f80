// Reads the parts of an event that grouping uses, tolerating SDK shapes, stored-event shapes
// and legacy interface aliases. Nothing here throws: unusable parts come back as null.
export type Json = Record<string, unknown>;

export interface Frame {
  function: string | null;
  rawFunction: string | null;
  module: string | null;
  filename: string | null;
  absPath: string | null;
  package: string | null;
  platform: string | null;
  contextLine: string | null;
  lineno: unknown;
  colno: unknown;
  inApp: boolean | null;
  sourcemapUsed: boolean;
}
export interface Stacktrace { frames: Frame[] }
export interface Mechanism {
  type: string | null;
  synthetic: boolean;
  exceptionId: number | null;
  parentId: number | null;
  isExceptionGroup: boolean;
  nsError: { domain: unknown; code: unknown } | null;
}
export interface SingleException {
  type: string | null;
  value: string | null;
  mechanism: Mechanism | null;
  stacktrace: Stacktrace | null;
}
export interface Thread { crashed: boolean; current: boolean; stacktrace: Stacktrace | null }
export interface Message { message: string | null; formatted: string | null }

export function isObj(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
export function str(v: unknown): string | null {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  return null;
}
function bool(v: unknown): boolean {
  return v === true || v === 1 || v === 'true';
}
function int(v: unknown): number | null {
  if (typeof v === 'number' && Number.isInteger(v)) return v;
  if (typeof v === 'string' && /^-?\d+$/.test(v)) return Number(v);
  return null;
}

/** First present key among aliases. */
export function iface(event: Json, ...keys: string[]): unknown {
  for (const k of keys) if (event[k] !== undefined && event[k] !== null) return event[k];
  return undefined;
}

function valuesList(v: unknown): unknown[] {
  if (Array.isArray(v)) return v;
  if (isObj(v)) {
    if (Array.isArray(v.values)) return v.values;
    if (v.values === undefined) return [v];
  }
  return [];
}

// Ingestion turns `filename`-only frames into `abs_path` frames and derives `filename` from
// `abs_path` (the URL path for file:/http(s):/applewebdata: URLs); stored events already went
// through this, SDK payloads did not.
function readFrame(f: Json): Frame {
  let absPath = str(f.abs_path) || null;
  let filename = str(f.filename) || null;
  if (!absPath) {
    absPath = filename;
    filename = null;
  }
  if (!filename && absPath) {
    filename = absPath;
    if (/^(?:file|https?|applewebdata):/.test(absPath)) {
      const path = urlPath(absPath);
      if (path && path !== '/') filename = path;
    }
  }
  const data = isObj(f.data) ? f.data : {};
  let inApp: boolean | null = typeof f.in_app === 'boolean' ? f.in_app : null;
  // Stored events remember the client's in_app before rules changed it; rules are re-applied
  // to that original value.
  const orig = data.orig_in_app;
  if (typeof orig === 'number' || typeof orig === 'boolean') inApp = orig === -1 ? null : Boolean(orig);
  return {
    function: str(f.function) || null,
    rawFunction: str(f.raw_function) || null,
    module: str(f.module),
    filename,
    absPath,
    package: str(f.package) || null,
    platform: str(f.platform) || null,
    contextLine: str(f.context_line),
    lineno: f.lineno ?? null,
    colno: f.colno ?? null,
    inApp,
    sourcemapUsed: data.sourcemap !== undefined && data.sourcemap !== null,
  };
}

/** With `keepEmpty`, a stack trace without frames is kept (top-level stack traces). */
function urlPath(url: string): string | null {
  try {
    return new URL(url).pathname;
  } catch {
    return null;
  }
}

/**
 * Most frames of one stack trace that grouping reads; a longer one (a deep recursion) keeps its first
 * and last halves, the calls that started it and the ones that crashed. Each distinct frame costs
 * ~20–50 µs of rule matching the first time it is seen (2-core machine), so a 1 MB event of 10,000
 * distinct frames cost ~0.2–1.5 s; 250 keep an event's stack traces under ~10 ms.
 */
export const MAX_FRAMES = 250;

export function readStacktrace(v: unknown, keepEmpty = false, maxFrames = MAX_FRAMES): Stacktrace | null {
  if (!isObj(v) || !Array.isArray(v.frames)) return null;
  let raw = v.frames.filter(isObj);
  if (raw.length > maxFrames) {
    const head = Math.ceil(maxFrames / 2);
    raw = raw.slice(0, head).concat(raw.slice(raw.length - (maxFrames - head)));
  }
  const frames = raw.map(readFrame);
  return frames.length || keepEmpty ? { frames } : null;
}

function readMechanism(v: unknown): Mechanism | null {
  if (!isObj(v)) return null;
  const meta = isObj(v.meta) ? v.meta : {};
  const ns = isObj(meta.ns_error) ? meta.ns_error : null;
  return {
    type: str(v.type),
    synthetic: bool(v.synthetic),
    exceptionId: int(v.exception_id),
    parentId: int(v.parent_id),
    isExceptionGroup: bool(v.is_exception_group),
    nsError: ns ? { domain: ns.domain ?? null, code: ns.code ?? null } : null,
  };
}

/**
 * Most exceptions of one event that grouping reads (the first ones; an exception group's root comes
 * first). SDKs send 1–5 (sentry-javascript's linkedErrors stops at 5, Python at the chain's end);
 * each costs a value to parameterize and a stack trace to classify, so a 1 MB event of 10,000 tiny
 * exceptions would otherwise cost ~10,000 of each.
 */
export const MAX_EXCEPTIONS = 64;
/**
 * Characters of exception values one event parameterizes in total: the values are cut (in order)
 * where this runs out. 4 values of the longest kept message (8192, parameterize.ts); at the
 * slowest measured input (~0.6 µs per character) 32 KiB cost ~20 ms, so a 1 MB event of 8 KB values
 * cannot cost 124 times that.
 */
export const MAX_EXCEPTION_VALUE_CHARS = 32 * 1024;
/** Frames of all exceptions' stack traces one event reads: two full stack traces (MAX_FRAMES). */
export const MAX_EXCEPTION_FRAMES = 2 * MAX_FRAMES;

export function readExceptions(event: Json): SingleException[] | null {
  const raw = iface(event, 'exception', 'sentry.interfaces.Exception');
  if (raw === undefined) return null;
  const out: SingleException[] = [];
  let budget = MAX_EXCEPTION_VALUE_CHARS;
  let frames = MAX_EXCEPTION_FRAMES;
  for (const e of valuesList(raw)) {
    if (out.length >= MAX_EXCEPTIONS) break;
    if (!isObj(e)) continue;
    let type = str(e.type) || null;
    let value = e.value === undefined || e.value === null ? null : (str(e.value) ?? safeText(e.value));
    // Ingestion splits "Type: message" values that come without a type, and drops exceptions
    // that have neither a type nor a value.
    if (!type && value) {
      const m = /^(\w+):(.*)$/.exec(value);
      if (m) {
        type = m[1]!;
        value = m[2]!.trim();
      }
    }
    if (!type && !value) continue;
    if (value !== null) {
      if (value.length > budget) value = value.slice(0, budget);
      budget -= value.length;
    }
    const stacktrace = readStacktrace(e.stacktrace ?? e['sentry.interfaces.Stacktrace'], false, Math.min(MAX_FRAMES, frames));
    if (stacktrace) frames -= stacktrace.frames.length;
    out.push({ type, value, mechanism: readMechanism(e.mechanism), stacktrace });
  }
  return out.length ? out : null;
}

function safeText(v: unknown): string {
  try {
    return typeof v === 'object' ? JSON.stringify(v) : String(v);
  } catch {
    return '';
  }
}

/**
 * A thread whose stack trace is read when first asked for: grouping uses one thread's (at most),
 * and a crash report may carry dozens of threads with dozens of frames each.
 */
function lazyThread(t: Json): Thread {
  let st: Stacktrace | null | undefined;
  return {
    crashed: bool(t.crashed),
    current: bool(t.current),
    get stacktrace() {
      if (st === undefined) st = readStacktrace(t.stacktrace);
      return st;
    },
  };
}

export function readThreads(event: Json): Thread[] | null {
  const raw = iface(event, 'threads', 'sentry.interfaces.Threads');
  if (raw === undefined) return null;
  const list = Array.isArray(raw) ? raw : isObj(raw) && Array.isArray(raw.values) ? raw.values : null;
  if (!list) return null;
  const threads = list.filter(isObj).map(lazyThread);
  return threads.length ? threads : null;
}

export function readMessage(event: Json): Message | null {
  const le = iface(event, 'logentry', 'sentry.interfaces.Message');
  const msg = event.message;
  let message: string | null = null;
  let formatted: string | null = null;
  if (isObj(le)) {
    message = str(le.message);
    formatted = str(le.formatted);
  } else if (typeof le === 'string') formatted = le;
  if (message === null && formatted === null) {
    if (typeof msg === 'string') formatted = msg;
    else if (isObj(msg)) {
      message = str(msg.message);
      formatted = str(msg.formatted);
    }
  }
  if (!message && !formatted) return null;
  return { message, formatted };
}

export function readFingerprint(event: Json): string[] | null {
  const fp = event.fingerprint;
  if (!Array.isArray(fp)) return null;
  const out: string[] = [];
  for (const v of fp) {
    if (typeof v === 'string') out.push(v);
    else if (typeof v === 'number' && Number.isFinite(v)) out.push(String(v));
    else if (typeof v === 'boolean') out.push(v ? 'True' : 'False');
  }
  return out.length ? out : null;
}

// --- The digest's grouping cache key (src/digest/group.ts) ---------------------------------------
// Everything grouping may read of an event, without what it never reads: of a frame only the fields
// readFrame() reads (not vars, pre/post context, addresses: most of a frame's bytes), of an
// exception its type, value, module, the mechanism fields grouping reads and stack trace, of a thread crashed/current and its
// stack trace. Other top-level fields grouping reads are kept whole. A field readFrame() starts to
// read must be added here too (test/grouping/input-key.test.ts checks the ones it reads now).

function frameKey(f: unknown): unknown {
  if (!isObj(f)) return null;
  const d = isObj(f.data) ? f.data : null;
  return [f.function, f.raw_function, f.module, f.filename, f.abs_path, f.package, f.platform, f.context_line, f.lineno, f.colno, f.in_app,
    d ? d.orig_in_app : undefined, d ? d.sourcemap !== undefined && d.sourcemap !== null : false];
}

function stacktraceKey(st: unknown): unknown {
  if (!isObj(st)) return st ?? null;
  return Array.isArray(st.frames) ? st.frames.map(frameKey) : st.frames ?? null;
}

function valuesKey(v: unknown, item: (x: Json) => unknown): unknown {
  const list = Array.isArray(v) ? v : isObj(v) && Array.isArray(v.values) ? v.values : null;
  if (!list) return isObj(v) ? item(v) : v ?? null;
  return [Array.isArray(v) ? 'l' : 'v', list.map((x) => (isObj(x) ? item(x) : x))];
}

// Of a mechanism only what readMechanism() reads: its `data` is free-form and may nest thousands of
// levels, which the hash's recursion would have to walk (5,000 levels overflowed the stack on Node 26).
function mechanismKey(m: unknown): unknown {
  if (!isObj(m)) return m ?? null;
  const ns = isObj(m.meta) && isObj(m.meta.ns_error) ? m.meta.ns_error : null;
  return [m.type, m.synthetic, m.exception_id, m.parent_id, m.is_exception_group, ns ? [ns.domain, ns.code] : null];
}

const exceptionKey = (e: Json): unknown => [e.type, e.value, e.module, mechanismKey(e.mechanism), stacktraceKey(e.stacktrace ?? e['sentry.interfaces.Stacktrace'])];
const threadKey = (t: Json): unknown => [t.crashed, t.current, stacktraceKey(t.stacktrace)];

/** The parts of `event` that grouping reads, as a value whose JSON is a cache key. */
export function groupingInput(event: Json, others: readonly string[]): unknown[] {
  return [
    valuesKey(iface(event, 'exception', 'sentry.interfaces.Exception'), exceptionKey),
    valuesKey(iface(event, 'threads', 'sentry.interfaces.Threads'), threadKey),
    stacktraceKey(iface(event, 'stacktrace', 'sentry.interfaces.Stacktrace')),
    ...others.map((k) => event[k] ?? null),
  ];
}
