// A normalized event (the digest's canonical form: exception/threads/breadcrumbs as {values},
// float timestamps, logentry, title/culprit/metadata computed) → Sentry's API event JSON: interfaces
// become `entries` ({type, data}) with camelCase frame fields, tags a [{key, value}] list, times ISO.
// Pure; tolerant of odd shapes (an entry that cannot be read is left out rather than failing the event).

import { apiEventError } from '../sourcemaps/errors.js';

type Json = Record<string, unknown>;

const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : isObj(v) && Array.isArray(v.values) ? v.values : []);
const strOrNull = (v: unknown): string | null => (typeof v === 'string' ? v : typeof v === 'number' ? String(v) : null);

export function isoTime(v: unknown): string | null {
  if (typeof v === 'number' && Number.isFinite(v)) return new Date(v * 1000).toISOString();
  if (typeof v === 'string') {
    const n = Number(v);
    if (v.trim() && Number.isFinite(n)) return new Date(n * 1000).toISOString();
    const d = new Date(/[zZ]|[+-]\d\d:?\d\d$/.test(v) ? v : v + 'Z');
    return Number.isNaN(d.getTime()) ? null : d.toISOString();
  }
  return null;
}

function frameContext(f: Json): [number, string][] {
  const out: [number, string][] = [];
  const line = typeof f.lineno === 'number' ? f.lineno : null;
  if (line === null || typeof f.context_line !== 'string') return out;
  const pre = Array.isArray(f.pre_context) ? f.pre_context : [];
  const post = Array.isArray(f.post_context) ? f.post_context : [];
  pre.forEach((l, i) => out.push([line - pre.length + i, String(l ?? '')]));
  out.push([line, f.context_line]);
  post.forEach((l, i) => out.push([line + 1 + i, String(l ?? '')]));
  return out;
}

export function serializeFrame(f: Json) {
  return {
    filename: strOrNull(f.filename),
    absPath: strOrNull(f.abs_path),
    module: strOrNull(f.module),
    package: strOrNull(f.package),
    platform: strOrNull(f.platform),
    instructionAddr: strOrNull(f.instruction_addr),
    symbolAddr: strOrNull(f.symbol_addr),
    function: strOrNull(f.function),
    rawFunction: strOrNull(f.raw_function),
    symbol: strOrNull(f.symbol),
    context: frameContext(f),
    lineNo: typeof f.lineno === 'number' ? f.lineno : null,
    colNo: typeof f.colno === 'number' ? f.colno : null,
    inApp: typeof f.in_app === 'boolean' ? f.in_app : null,
    trust: strOrNull(f.trust),
    errors: null,
    lock: null,
    sourceLink: null,
    vars: isObj(f.vars) ? f.vars : null,
  };
}

export function serializeStacktrace(st: unknown) {
  if (!isObj(st)) return null;
  const frames = (Array.isArray(st.frames) ? st.frames : []).filter(isObj).map(serializeFrame);
  return {
    frames,
    framesOmitted: Array.isArray(st.frames_omitted) ? st.frames_omitted : null,
    registers: isObj(st.registers) ? st.registers : null,
    hasSystemFrames: frames.some((f) => f.inApp !== true) && frames.some((f) => f.inApp === true),
  };
}

function exceptionEntry(ev: Json) {
  const values = arr(ev.exception).filter(isObj).map((e) => ({
    type: strOrNull(e.type),
    value: strOrNull(e.value),
    module: strOrNull(e.module),
    mechanism: isObj(e.mechanism) ? e.mechanism : null,
    threadId: e.thread_id ?? null,
    stacktrace: serializeStacktrace(e.stacktrace),
    rawStacktrace: serializeStacktrace(e.raw_stacktrace),
  }));
  if (!values.length) return null;
  return { type: 'exception', data: { values, excOmitted: null, hasSystemFrames: values.some((v) => v.stacktrace?.hasSystemFrames) } };
}

function messageEntry(ev: Json) {
  const le = isObj(ev.logentry) ? ev.logentry : null;
  const formatted = strOrNull(le?.formatted) ?? strOrNull(le?.message) ?? (typeof ev.message === 'string' ? ev.message : null);
  if (!formatted) return null;
  const data: Json = { formatted };
  if (le && typeof le.message === 'string' && le.message !== formatted) data.message = le.message;
  if (le && le.params !== undefined) data.params = le.params;
  return { type: 'message', data };
}

function breadcrumbsEntry(ev: Json) {
  const values = arr(ev.breadcrumbs).filter(isObj).map((b) => ({
    type: strOrNull(b.type) ?? 'default',
    category: strOrNull(b.category),
    level: strOrNull(b.level) ?? 'info',
    message: strOrNull(b.message),
    data: isObj(b.data) ? b.data : null,
    timestamp: isoTime(b.timestamp),
    event_id: null,
  }));
  return values.length ? { type: 'breadcrumbs', data: { values } } : null;
}

/** Headers, cookies and query strings as Sentry's API sends them: lists of [name, value]. */
function pairs(v: unknown, sep?: string): [string, string][] {
  if (Array.isArray(v)) return v.filter((p) => Array.isArray(p) && p.length === 2).map((p) => [String(p[0]), String(p[1] ?? '')]);
  if (isObj(v)) return Object.entries(v).map(([k, x]) => [k, typeof x === 'string' ? x : JSON.stringify(x)]);
  if (typeof v === 'string' && sep) {
    return v
      .replace(/^\?/, '')
      .split(sep)
      .filter(Boolean)
      .map((kv) => {
        const i = kv.indexOf('=');
        const dec = (s: string) => {
          try {
            return decodeURIComponent(s.replace(/\+/g, ' '));
          } catch {
            return s;
          }
        };
        return i < 0 ? [dec(kv.trim()), ''] : [dec(kv.slice(0, i).trim()), dec(kv.slice(i + 1))];
      });
  }
  return [];
}

function requestEntry(ev: Json) {
  const r = ev.request;
  if (!isObj(r)) return null;
  const headers = pairs(r.headers);
  const ct = headers.find(([k]) => k.toLowerCase() === 'content-type')?.[1] ?? null;
  return {
    type: 'request',
    data: {
      url: strOrNull(r.url),
      method: strOrNull(r.method),
      query: pairs(r.query_string ?? r.query, '&'),
      fragment: strOrNull(r.fragment),
      data: r.data ?? null,
      headers,
      cookies: pairs(r.cookies, ';'),
      env: isObj(r.env) ? r.env : null,
      inferredContentType: typeof r.data === 'object' && r.data !== null ? 'application/json' : ct,
      apiTarget: null,
    },
  };
}

function threadsEntry(ev: Json) {
  const values = arr(ev.threads).filter(isObj).map((t) => ({
    id: t.id ?? null,
    current: typeof t.current === 'boolean' ? t.current : null,
    crashed: typeof t.crashed === 'boolean' ? t.crashed : null,
    name: strOrNull(t.name),
    state: strOrNull(t.state),
    stacktrace: serializeStacktrace(t.stacktrace),
    rawStacktrace: serializeStacktrace(t.raw_stacktrace),
  }));
  return values.length ? { type: 'threads', data: { values } } : null;
}

export function serializeUser(u: unknown) {
  if (!isObj(u)) return null;
  const { id, email, username, ip_address, name, geo, ...rest } = u;
  return {
    id: strOrNull(id),
    email: strOrNull(email),
    username: strOrNull(username),
    ip_address: strOrNull(ip_address),
    name: strOrNull(name),
    geo: isObj(geo) ? geo : null,
    data: Object.keys(rest).length ? (isObj(rest.data) ? rest.data : rest) : null,
  };
}

/** The entries of an event, in the order Sentry's issue page shows them. */
export function eventEntries(ev: Json): { type: string; data: unknown }[] {
  const out: ({ type: string; data: unknown } | null)[] = [
    exceptionEntry(ev),
    ev.exception ? null : messageEntry(ev),
    ev.stacktrace && !ev.exception ? { type: 'stacktrace', data: serializeStacktrace(ev.stacktrace) } : null,
    threadsEntry(ev),
    ev.exception ? messageEntry(ev) : null,
    breadcrumbsEntry(ev),
    requestEntry(ev),
    isObj(ev.template) ? { type: 'template', data: ev.template } : null,
    isObj(ev.csp) ? { type: 'csp', data: ev.csp } : null,
    isObj(ev.expectct) ? { type: 'expectct', data: ev.expectct } : null,
    isObj(ev.hpkp) ? { type: 'hpkp', data: ev.hpkp } : null,
    isObj(ev.expectstaple) ? { type: 'expectstaple', data: ev.expectstaple } : null,
    isObj(ev.debug_meta) ? { type: 'debugmeta', data: { images: arr((ev.debug_meta as Json).images) } } : null,
  ];
  return out.filter((e): e is { type: string; data: unknown } => e !== null);
}

export interface EventFacts {
  projectId: number;
  issueId: number | null;
  tags: [string, string][];
  /** hashes of the event (primary first) and a compact account of how it was grouped */
  grouping: { config: string; primaryHash: string; hashes: string[]; contributingVariant: string | null; hint: string | null } | null;
  previousEventID: string | null;
  nextEventID: string | null;
  size: number | null;
}

export function serializeEvent(ev: Json, facts: EventFacts) {
  const id = String(ev.event_id ?? '');
  const le = isObj(ev.logentry) ? ev.logentry : null;
  const message = strOrNull(le?.formatted) ?? (typeof ev.message === 'string' ? ev.message : '') ?? '';
  const sdk = isObj(ev.sdk) ? { name: strOrNull(ev.sdk.name), version: strOrNull(ev.sdk.version) } : null;
  const release = typeof ev.release === 'string' ? { version: ev.release, shortVersion: ev.release } : null;
  return {
    id,
    eventID: id,
    groupID: facts.issueId === null ? null : String(facts.issueId),
    projectID: String(facts.projectId),
    title: strOrNull(ev.title) ?? '<untitled>',
    message,
    platform: strOrNull(ev.platform) ?? 'other',
    type: strOrNull(ev.type) ?? 'default',
    dateCreated: isoTime(ev.timestamp),
    dateReceived: isoTime(ev.received),
    size: facts.size,
    culprit: strOrNull(ev.culprit) ?? '',
    location: strOrNull(ev.location),
    logger: strOrNull(ev.logger),
    level: strOrNull(ev.level),
    metadata: isObj(ev.metadata) ? ev.metadata : {},
    entries: eventEntries(ev),
    contexts: isObj(ev.contexts) ? ev.contexts : {},
    tags: facts.tags.map(([key, value]) => ({ key, value })),
    user: serializeUser(ev.user),
    sdk,
    release,
    dist: strOrNull(ev.dist),
    environment: strOrNull(ev.environment),
    fingerprints: facts.grouping?.hashes ?? [],
    groupingConfig: facts.grouping ? { id: facts.grouping.config, enhancements: '' } : null,
    // Not a Sentry field: why the event landed in its issue, in brief (full tree: grouping-info/).
    grouping: facts.grouping,
    packages: isObj(ev.modules) ? ev.modules : {},
    context: isObj(ev.extra) ? ev.extra : {},
    errors: Array.isArray(ev.errors) ? ev.errors.map(apiEventError) : [],
    _meta: isObj(ev._meta) ? ev._meta : {},
    crashFile: null,
    userReport: null,
    sdkUpdates: [] as unknown[],
    occurrence: null,
    previousEventID: facts.previousEventID,
    nextEventID: facts.nextEventID,
  };
}
