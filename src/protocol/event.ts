// Event normalization (shared/docs/sentry-protocol.md §11): turns every real SDK shape into one
// shape close to what Sentry stores, and computes title, culprit, metadata and location as Sentry
// does (compared with shared/fixtures/sentry-normalized/). Pure; never throws on odd input — an
// unusable field is dropped, the rest is kept. Unknown top-level fields are kept as they are.

export type Json = Record<string, unknown>;

export interface NormalizeOptions {
  /** When the payload reached the server: fills `received`, and replaces absurd timestamps. */
  receivedAt: Date;
  /** Event id from the envelope header; wins over the payload's own (protocol §4). */
  eventId?: string | null;
  /** Id to use when the event has none (derive it from where the payload is stored, so that
   * normalizing the same payload again gives the same id). Random when not given. */
  fallbackId?: string | (() => string);
  /** Leave breadcrumbs as sent (the digest does not read them; parsing their timestamps cost
   * ~10 % of normalizing a typical event). */
  skipBreadcrumbs?: boolean;
}

/** Timestamps this far ahead of the receive time are replaced by it (clock skew beyond 1 h). */
export const MAX_FUTURE_SECS = 3600;
/** ...and this far behind it (Sentry drops events older than 30 days). */
export const MAX_PAST_SECS = 30 * 86400;

const MAX_TAG_KEY = 200;
const MAX_TAG_VALUE = 200;
const MAX_CULPRIT = 200;

const LEVELS = new Set(['fatal', 'error', 'warning', 'info', 'debug']);
const LEVEL_ALIASES: Record<string, string> = { warn: 'warning', critical: 'fatal', log: 'info', '50': 'fatal', '40': 'error', '30': 'warning', '20': 'info', '10': 'debug' };

export function isObj(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
export function str(v: unknown): string | null {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  if (typeof v === 'boolean') return String(v);
  return null;
}
function nonEmpty(v: unknown): string | null {
  const s = str(v);
  return s && s.trim() !== '' ? s : null;
}

/** Python's truncatechars: at most n characters, ending in "..." when cut. */
export function truncateChars(s: string, n: number): string {
  return s.length > n ? s.slice(0, n - 3) + '...' : s;
}

/** Unix seconds from a float/int (seconds, or milliseconds when obviously so) or an RFC 3339 string. */
export function parseTimestamp(v: unknown): number | null {
  if (typeof v === 'number' && Number.isFinite(v)) return v > 1e11 ? v / 1000 : v;
  if (typeof v === 'string' && v.trim() !== '') {
    const t = v.trim();
    if (/^-?\d+(\.\d+)?$/.test(t)) return parseTimestamp(Number(t));
    // No zone designator means UTC (Python SDKs send naive ISO strings).
    const withZone = /[zZ]|[+-]\d\d:?\d\d$/.test(t.slice(10)) ? t : t + 'Z';
    const ms = Date.parse(withZone);
    return Number.isFinite(ms) ? ms / 1000 : null;
  }
  return null;
}

/** `{values: [...]}`, a bare list, or a single object → list of objects. */
function valuesOf(v: unknown): Json[] {
  const list = Array.isArray(v) ? v : isObj(v) ? (Array.isArray(v.values) ? v.values : 'values' in v ? [] : [v]) : [];
  return list.filter(isObj);
}

function iface(ev: Json, ...keys: string[]): unknown {
  for (const k of keys) if (ev[k] !== undefined && ev[k] !== null) return ev[k];
  return undefined;
}

const JS_PLATFORMS = new Set(['javascript', 'node']);

/**
 * Sentry shows JavaScript frames by path: a URL filename keeps its full form in abs_path and
 * becomes the URL's path ("http://host/dist/bundle.js" → "/dist/bundle.js").
 */
function normalizeFrame(f: Json, platform: string): Json {
  const p = str(f.platform) ?? platform;
  const fn = str(f.filename);
  if (JS_PLATFORMS.has(p) && fn && /^https?:\/\//i.test(fn)) {
    try {
      const u = new URL(fn);
      return { ...f, abs_path: f.abs_path ?? fn, filename: u.pathname };
    } catch {
      return f;
    }
  }
  return f;
}

function normalizeFrames(st: unknown, platform = ''): Json | null {
  if (!isObj(st)) return null;
  const frames = Array.isArray(st.frames) ? st.frames.filter(isObj).map((f) => normalizeFrame(f, platform)) : [];
  return { ...st, frames };
}

function normalizeException(e: Json, platform: string): Json {
  const out: Json = { ...e };
  if (e.type !== undefined && e.type !== null) out.type = str(e.type);
  if (e.value !== undefined && e.value !== null) out.value = typeof e.value === 'string' ? e.value : JSON.stringify(e.value);
  const st = normalizeFrames(e.stacktrace, platform);
  if (st) out.stacktrace = st;
  else delete out.stacktrace;
  return out;
}

/** Tags as a list of [key, value] string pairs (Sentry's stored shape), from a map or a list of pairs. */
export function normalizeTags(v: unknown): [string, string][] {
  const pairs: [unknown, unknown][] = [];
  if (Array.isArray(v)) {
    for (const p of v) {
      if (Array.isArray(p) && p.length === 2) pairs.push([p[0], p[1]]);
      else if (isObj(p) && 'key' in p) pairs.push([p.key, p.value]);
    }
  } else if (isObj(v)) {
    for (const [k, val] of Object.entries(v)) pairs.push([k, val]);
  }
  const out: [string, string][] = [];
  const seen = new Set<string>();
  for (const [k, val] of pairs) {
    const key = str(k)?.trim();
    const value = (typeof val === 'object' && val !== null ? JSON.stringify(val) : str(val))?.trim();
    if (!key || value === undefined || value === null || value === '') continue;
    const kk = key.slice(0, MAX_TAG_KEY);
    if (seen.has(kk)) continue;
    seen.add(kk);
    out.push([kk, value.slice(0, MAX_TAG_VALUE)]);
  }
  return out;
}

/** Formats a logentry's template with its params: "%s"-style lists and "%(name)s"-style maps. */
function formatMessage(template: string, params: unknown): string {
  if (Array.isArray(params) && params.length) {
    let i = 0;
    return template.replace(/%[sdrif]/g, (m) => (i < params.length ? String(str(params[i++]) ?? JSON.stringify(params[i - 1])) : m));
  }
  if (isObj(params)) {
    // "%(name)s" (Python logging) and "{name}" (str.format / structured logging) placeholders.
    const val = (m: string, name: string) => (name in params ? String(str(params[name]) ?? JSON.stringify(params[name])) : m);
    return template.replace(/%\((\w+)\)[sdrif]/g, val).replace(/\{(\w+)\}/g, val);
  }
  return template;
}

function normalizeLogentry(ev: Json): Json | null {
  const le = iface(ev, 'logentry', 'sentry.interfaces.Message');
  const msg = ev.message;
  const src = isObj(le) ? le : isObj(msg) ? msg : null;
  if (src) {
    const template = nonEmpty(src.message);
    const formatted = nonEmpty(src.formatted) ?? (template ? formatMessage(template, src.params) : null);
    if (!formatted && !template) return typeof msg === 'string' && msg ? { formatted: msg } : null;
    const out: Json = {};
    if (template && template !== formatted) out.message = template;
    if (src.params !== undefined) out.params = src.params;
    out.formatted = formatted ?? template;
    return out;
  }
  if (typeof msg === 'string' && msg !== '') return { formatted: msg };
  return null;
}

function lastFrameInfo(ev: Json): { frames: Json[]; platform: string } | null {
  const exc = (ev.exception as Json | undefined)?.values as Json[] | undefined;
  let st: Json | null = null;
  if (exc?.length) {
    for (let i = exc.length - 1; i >= 0; i--) {
      const s = exc[i]!.stacktrace as Json | undefined;
      if (s && Array.isArray(s.frames) && s.frames.length) {
        st = s;
        break;
      }
    }
  } else if (isObj(ev.stacktrace) && Array.isArray(ev.stacktrace.frames) && ev.stacktrace.frames.length) {
    st = ev.stacktrace;
  }
  if (!st) return null;
  return { frames: st.frames as Json[], platform: String(ev.platform) };
}

function frameCulprit(f: Json, platform: string): string {
  const p = str(f.platform) ?? platform;
  if (p === 'objc' || p === 'cocoa' || p === 'native') return str(f.function) ?? '?';
  const fileloc = nonEmpty(f.module) ?? nonEmpty(f.filename);
  if (!fileloc) return '';
  if (p === 'javascript' || p === 'node') return `${str(f.function) ?? '?'}(${fileloc})`;
  return `${fileloc} in ${str(f.function) ?? '?'}`;
}

/** Sentry's generate_culprit: the newest in-app frame (else the newest frame), else the request URL. */
export function generateCulprit(ev: Json): string {
  const info = lastFrameInfo(ev);
  let culprit: string | null = null;
  if (info) {
    let fallback: string | null = null;
    for (let i = info.frames.length - 1; i >= 0; i--) {
      const f = info.frames[i]!;
      if (f.in_app === true) {
        const c = frameCulprit(f, info.platform);
        if (c) {
          culprit = c;
          break;
        }
      } else if (fallback === null) fallback = frameCulprit(f, info.platform);
    }
    culprit = culprit ?? fallback;
  }
  if (!culprit && isObj(ev.request)) culprit = str(ev.request.url);
  return truncateChars(culprit ?? '', MAX_CULPRIT);
}

/** The crash frame: newest in-app frame, else the newest frame. */
function crashFrame(ev: Json): Json | null {
  const info = lastFrameInfo(ev);
  if (!info) return null;
  for (let i = info.frames.length - 1; i >= 0; i--) if (info.frames[i]!.in_app === true) return info.frames[i]!;
  return info.frames[info.frames.length - 1] ?? null;
}

const SECURITY_TYPES = new Set(['csp', 'expectct', 'hpkp', 'expectstaple']);

export function computeTitleAndMetadata(ev: Json, type: string): { title: string; metadata: Json; location: string | null } {
  if (type === 'error') {
    const values = (ev.exception as Json).values as Json[];
    const top = values[values.length - 1]!;
    const metadata: Json = {};
    const mech = isObj(top.mechanism) ? top.mechanism : null;
    metadata.value = (str(top.value) ?? '').slice(0, 1024);
    if (!mech?.synthetic) metadata.type = (str(top.type) ?? 'Error').slice(0, 128);
    const f = crashFrame(ev);
    const filename = f ? nonEmpty(f.filename) ?? nonEmpty(f.abs_path) : null;
    const fn = f ? nonEmpty(f.function) : null;
    if (filename) metadata.filename = filename;
    if (fn) metadata.function = fn;
    let title: string;
    const ty = metadata.type as string | undefined;
    // A synthetic exception (e.g. captureMessage with attachStacktrace) has no meaningful type:
    // its value (the message) is the title.
    if (ty === undefined) title = metadata.value ? truncateChars((metadata.value as string).split(/\r?\n/)[0]!, 100) : (metadata.function as string | undefined) ?? '<unknown>';
    else if (!metadata.value) title = ty;
    else title = `${ty}: ${truncateChars((metadata.value as string).split(/\r?\n/)[0]!, 100)}`;
    return { title, metadata, location: filename };
  }
  const formatted = str((ev.logentry as Json | undefined)?.formatted) ?? '';
  const first = formatted.split(/\r?\n/)[0]!.trim();
  const title = first ? truncateChars(first, 100) : '<unlabeled event>';
  if (SECURITY_TYPES.has(type)) return { title, metadata: { ...(isObj(ev.metadata) ? ev.metadata : {}), title }, location: null };
  return { title, metadata: { title }, location: null };
}

export interface NormalizedEvent extends Json {
  event_id: string;
  timestamp: number;
  received: number;
  platform: string;
  level: string;
  type: string;
  title: string;
  culprit: string;
  metadata: Json;
  tags: [string, string][];
}

/**
 * Normalizes one event payload (already JSON-parsed). Throws only when `raw` is not a JSON object.
 * The result keeps unknown fields, and holds canonical `exception`/`threads`/`breadcrumbs`
 * ({values}), `logentry`, `tags` (pairs), float timestamps and computed title/culprit/metadata.
 */
export function normalizeEvent(raw: unknown, opts: NormalizeOptions): NormalizedEvent {
  if (!isObj(raw)) throw new TypeError(`an event must be a JSON object, got ${Array.isArray(raw) ? 'an array' : typeof raw}`);
  const ev: Json = { ...raw };
  const received = opts.receivedAt.getTime() / 1000;

  // Legacy interface aliases → canonical names.
  const aliases: [string, string][] = [
    ['sentry.interfaces.Exception', 'exception'], ['sentry.interfaces.Stacktrace', 'stacktrace'],
    ['sentry.interfaces.Http', 'request'], ['sentry.interfaces.User', 'user'],
    ['sentry.interfaces.Breadcrumbs', 'breadcrumbs'], ['sentry.interfaces.Threads', 'threads'],
    ['sentry.interfaces.DebugMeta', 'debug_meta'], ['sentry.interfaces.Contexts', 'contexts'],
    ['sentry.interfaces.Template', 'template'],
  ];
  for (const [from, to] of aliases) {
    if (ev[from] !== undefined) {
      if (ev[to] === undefined || ev[to] === null) ev[to] = ev[from];
      delete ev[from];
    }
  }

  const id = (opts.eventId ?? normalizeId(ev.event_id)) || null;
  ev.event_id = id ?? (typeof opts.fallbackId === 'function' ? opts.fallbackId() : opts.fallbackId) ?? randomHex32();

  let ts = parseTimestamp(ev.timestamp);
  if (ts === null || ts > received + MAX_FUTURE_SECS || ts < received - MAX_PAST_SECS) ts = received;
  ev.timestamp = ts;
  ev.received = received;
  if (ev.start_timestamp !== undefined) {
    const st = parseTimestamp(ev.start_timestamp);
    if (st === null) delete ev.start_timestamp;
    else ev.start_timestamp = st;
  }

  ev.platform = nonEmpty(ev.platform)?.toLowerCase() ?? 'other';
  const lvl = str(ev.level)?.toLowerCase() ?? '';
  ev.level = LEVELS.has(lvl) ? lvl : LEVEL_ALIASES[lvl] ?? (ev.type === 'feedback' ? 'info' : 'error');

  for (const k of ['release', 'dist', 'environment', 'server_name', 'transaction', 'logger']) {
    if (ev[k] === undefined) continue;
    const s = nonEmpty(ev[k]);
    if (s === null) delete ev[k];
    else ev[k] = s.trim().slice(0, 200);
  }

  // exception: {values}, list or single object; threads and breadcrumbs: {values} or list.
  const exc = valuesOf(ev.exception).map((e) => normalizeException(e, ev.platform as string));
  if (exc.length) ev.exception = { ...(isObj(ev.exception) ? ev.exception : {}), values: exc };
  else delete ev.exception;
  if (ev.threads !== undefined) {
    const th = valuesOf(ev.threads).map((t) => {
      const st = normalizeFrames(t.stacktrace, ev.platform as string);
      return st ? { ...t, stacktrace: st } : t;
    });
    if (th.length) ev.threads = { values: th };
    else delete ev.threads;
  }
  if (ev.stacktrace !== undefined) {
    const st = normalizeFrames(ev.stacktrace, ev.platform as string);
    if (st && (st.frames as Json[]).length) ev.stacktrace = st;
    else delete ev.stacktrace;
  }
  if (ev.breadcrumbs !== undefined && !opts.skipBreadcrumbs) {
    const bc = valuesOf(ev.breadcrumbs).map((b) => {
      const t = parseTimestamp(b.timestamp);
      return t === null ? b : { ...b, timestamp: t };
    });
    ev.breadcrumbs = { values: bc };
  }

  const le = normalizeLogentry(ev);
  if (le) {
    ev.logentry = le;
    ev.message = le.formatted;
  } else {
    delete ev.logentry;
    if (typeof ev.message !== 'string') delete ev.message;
  }

  if (ev.user !== undefined) {
    if (isObj(ev.user)) {
      const u: Json = { ...ev.user };
      if (u.id !== undefined && u.id !== null) u.id = str(u.id) ?? JSON.stringify(u.id);
      ev.user = u;
    } else delete ev.user;
  }
  if (ev.contexts !== undefined && !isObj(ev.contexts)) delete ev.contexts;
  if (ev.request !== undefined && !isObj(ev.request)) delete ev.request;

  ev.tags = normalizeTags(ev.tags);

  let type = str(ev.type);
  if (type === 'transaction' || type === 'feedback') {
    /* kept */
  } else if (type && SECURITY_TYPES.has(type)) {
    /* kept */
  } else type = exc.length ? 'error' : 'default';
  ev.type = type;

  const { title, metadata, location } = computeTitleAndMetadata(ev, type);
  ev.title = title;
  ev.metadata = metadata;
  ev.location = location;
  // An SDK-sent culprit is kept (Elixir sends one); else the transaction; else from frames / URL.
  const sdkCulprit = nonEmpty(raw.culprit);
  ev.culprit = sdkCulprit ? truncateChars(sdkCulprit, MAX_CULPRIT) : (ev.transaction as string | undefined) ?? generateCulprit(ev);
  return ev as NormalizedEvent;
}

function normalizeId(v: unknown): string | null {
  if (typeof v !== 'string') return null;
  const s = v.replace(/-/g, '').toLowerCase();
  return /^[0-9a-f]{32}$/.test(s) ? s : null;
}

function randomHex32(): string {
  let s = '';
  for (let i = 0; i < 4; i++) s += Math.floor(Math.random() * 0x100000000).toString(16).padStart(8, '0');
  return s;
}

/** Context object by name (`contexts.os`, ...) or by its `type`. */
export function context(ev: Json, name: string): Json | null {
  const c = ev.contexts;
  if (!isObj(c)) return null;
  if (isObj(c[name])) return c[name] as Json;
  for (const v of Object.values(c)) if (isObj(v) && v.type === name) return v;
  return null;
}

/** Sentry's "user" tag value: id:…, username:…, email:… or ip:… (null when the event has no user). */
export function userKey(ev: Json): string | null {
  const u = ev.user;
  if (!isObj(u)) return null;
  const id = nonEmpty(u.id);
  if (id) return `id:${id}`;
  const un = nonEmpty(u.username);
  if (un) return `username:${un}`;
  const em = nonEmpty(u.email);
  if (em) return `email:${em}`;
  const ip = nonEmpty(u.ip_address);
  if (ip && ip !== '{{auto}}') return `ip:${ip}`;
  return null;
}

function nameVersion(c: Json | null): string | null {
  if (!c) return null;
  const n = nonEmpty(c.name);
  if (!n) return null;
  const v = nonEmpty(c.version);
  return v ? `${n} ${v}` : n;
}

/**
 * The tags Sentry shows for an event: the event's own, plus those derived from its fields and
 * contexts (level, environment, release, browser, os.name, runtime, url, user, handled, ...).
 */
export function eventTags(ev: NormalizedEvent): [string, string][] {
  const out = new Map<string, string>();
  const add = (k: string, v: unknown) => {
    const s = nonEmpty(v);
    if (s && !out.has(k)) out.set(k, s.trim().slice(0, MAX_TAG_VALUE));
  };
  for (const [k, v] of ev.tags) add(k, v);
  add('level', ev.level);
  add('environment', ev.environment);
  add('release', ev.release);
  add('dist', ev.dist);
  add('logger', ev.logger);
  add('server_name', ev.server_name);
  add('transaction', ev.transaction);
  if (isObj(ev.request)) add('url', str(ev.request.url)?.split('?')[0]);
  add('user', userKey(ev));
  const browser = context(ev, 'browser');
  add('browser', nameVersion(browser));
  add('browser.name', browser?.name);
  const os = context(ev, 'os');
  add('os', nameVersion(os));
  add('os.name', os?.name);
  const rt = context(ev, 'runtime');
  add('runtime', nameVersion(rt));
  add('runtime.name', rt?.name);
  const dev = context(ev, 'device');
  add('device', dev?.model);
  add('device.family', dev?.family);
  const values = (ev.exception as Json | undefined)?.values as Json[] | undefined;
  const mech = values?.length ? (values[values.length - 1]!.mechanism as Json | undefined) : undefined;
  if (isObj(mech)) {
    if (typeof mech.handled === 'boolean') add('handled', mech.handled ? 'yes' : 'no');
    add('mechanism', mech.type);
  }
  return [...out];
}
