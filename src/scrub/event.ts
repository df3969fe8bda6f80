import { isPasswordKey, isPasswordValue, hasSensitiveField, isSecretKeyInText, SENSITIVE_COOKIES, COOKIE_HEADERS } from './keys.js';
import { applyRanges, findBearerTokens, findCards, findIbans, findIps, findPemKeys, findSecretPairs, findSsns, findUrlPasswords, FILTERED, lowerSameLength, type Range } from './text.js';
import type { CompiledScrub, KeyVerdict } from './settings.js';

// Data scrubbing of one event (or transaction, or feedback) as the SDK sent it, in place, before the
// digest reads it: Relay's default data scrubbing (relay-pii/src/convert.rs `to_pii_config` with
// scrubData and scrubDefaults) over the fields Relay marks as personal data:
//
// - request (url, query string, data, headers, cookies, env), extra, contexts, tags, user, breadcrumb
//   messages and data, frame local variables (`vars`), logentry params, span data, and unknown
//   top-level fields: a value under a key that names a secret (password, secret, passwd, api_key,
//   auth, credentials, token, …) is replaced by "[Filtered]" (a string) or removed (a number, list or
//   object); a string that contains such a word is replaced whole (as Relay does: "my password is x");
//   card numbers, IBANs, US SSNs, PEM key bodies, URL passwords and bearer tokens inside strings are
//   replaced; sensitive cookies (session, csrf, …) and the Cookie / Set-Cookie headers are filtered;
//   the User-Agent header is left alone.
// - messages and exception values, from which titles are made (and so webhook texts): Relay leaves
//   exception values alone and applies only some rules to messages; here both keep their words and
//   lose only the secrets inside them — the value of a `password=…` / `token: …` pair, card numbers,
//   IBANs, SSNs, key bodies, URL passwords and bearer tokens — so a title says what happened without
//   carrying the secret to the issue list, the database or a chat room.
// - with scrubIPAddresses: user.ip_address, request.env.REMOTE_ADDR and sdk.client_ip are removed, and
//   IP addresses in the scrubbed strings become "[ip]".
//
// What was changed is recorded in the event's `_meta` as Sentry records it: at the value's path, a
// `""` entry with `rem` (remarks: [rule id, "s", start, end] for a substitution, [rule id, "x"] for a
// removal) and `len` (the original length of a string). Values nested deeper than maxDepth inside a
// scrubbed field are removed (remark "!limit"), since they cannot be looked at.

type Json = Record<string, unknown>;
type Remark = [string, 'x'] | [string, 's', number, number];

/**
 * What every default rule needs to find something in a string: one of these fixed words (any case),
 * "-----", "//" or a digit. Literals and one character class, no quantifier, so each position is
 * tried against a bounded pattern: linear, and one native pass tells most strings (names, paths,
 * plain messages) apart from those worth the scans. The scans themselves decide, this only skips.
 * Messages and exception values (text()) are tested with it whole; other strings (string()) with
 * its two halves, since most strings that pass it do only for a digit (a time, a version, a line):
 * WORDS, which the password, token and bearer rules need, and SHAPES, which the scans of
 * secretsIn() need.
 */
const WORDS = /pass|secret|auth|api|private|credentials|mysql_pwd|sentry_key|token|otp|two|bearer/i;
const SHAPES = /-----|\/\/|[0-9]/;
const HINT = new RegExp(`${WORDS.source}|${SHAPES.source}`, 'i');
// What each digit scan needs somewhere in the string, tested natively before the scan (JavaScript,
// a character at a time) runs: fixed-length patterns, so each position is tried against at most 15
// characters (linear). A card starts 3[47]d, 4ddd, 5[1-5]dd, 65dd or 6011; an SSN is ddd-dd-dddd; an
// IBAN is a country code, 2 check digits and 11 or more letters or digits.
const CARD_HINT = /[3-6][0-9][0-9]/;
const SSN_HINT = /[0-9]{3}-[0-9]{2}-[0-9]{4}/;
const IBAN_HINT = /[A-Z]{2}[0-9]{2}[A-Za-z0-9]{11}/;

const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

// Keys repeat from event to event (url, method, headers, category, data…): their verdicts are kept
// per compiled settings, so a key is lower-cased and searched for the password words once. On the
// bench mix: 257 distinct keys in 20,000 events, 51 looked up per event. A key over 100 characters,
// or past the first 4,096, is not kept (≤ ~1 MB per settings; the defaults' last the process).
const KEY_CACHE_MAX = 4096;
const KEY_CACHE_MAX_CHARS = 100;

function keyVerdict(c: CompiledScrub, key: string): KeyVerdict {
  const hit = c.keys.get(key);
  if (hit) return hit;
  const lk = key.toLowerCase();
  const v: KeyVerdict = {
    lk,
    safe: c.safe.has(lk),
    rule: c.defaults && isPasswordKey(lk) ? '@password:filter' : hasSensitiveField(lk, c.sensitive) ? 'strip-fields' : null,
  };
  if (key.length <= KEY_CACHE_MAX_CHARS && c.keys.size < KEY_CACHE_MAX) c.keys.set(key, v);
  return v;
}

/** Top-level fields that hold no personal data (Relay: pii = false), or are handled on their own below. */
const NOT_SCRUBBED = new Set(['event_id', 'timestamp', 'start_timestamp', 'received', 'platform', 'level', 'logger', 'release', 'dist',
  'environment', 'server_name', 'transaction', 'type', 'fingerprint', 'modules', 'debug_meta', 'culprit', 'errors', 'version', 'project',
  'key_id', 'grouping_config', 'measurements', 'breakdowns', 'transaction_info', 'template', 'sdk', 'exception', 'threads', 'stacktrace',
  'logentry', 'message', 'breadcrumbs', 'spans', 'user', 'request', 'sentry.interfaces.Exception', 'sentry.interfaces.Stacktrace',
  'sentry.interfaces.Threads', 'sentry.interfaces.Message', 'sentry.interfaces.Http', 'sentry.interfaces.User', 'sentry.interfaces.Breadcrumbs',
  'sentry.interfaces.DebugMeta', 'sentry.interfaces.Template', '_meta']);

/** The values of an interface sent as {values: [...]} or as a plain list, with the path prefix of each. */
function eachValue(v: unknown, path: string[], fn: (item: Json, path: string[]) => void): void {
  if (Array.isArray(v)) v.forEach((x, i) => isObj(x) && fn(x, [...path, String(i)]));
  else if (isObj(v) && Array.isArray(v.values)) v.values.forEach((x, i) => isObj(x) && fn(x, [...path, 'values', String(i)]));
  else if (isObj(v)) fn(v, path);
}

export class EventScrubber {
  private meta: Json | null = null;
  private readonly path: string[] = [];

  constructor(private readonly c: CompiledScrub) {}

  /** Scrubs `ev` in place; returns whether anything changed (then `ev._meta` has the remarks). */
  scrub(ev: Json): boolean {
    this.meta = null;
    const c = this.c;
    for (const key of Object.keys(ev)) {
      if (NOT_SCRUBBED.has(key)) continue;
      this.field(ev, key, null); // contexts, extra, tags, csp, unknown fields
    }
    for (const key of ['request', 'sentry.interfaces.Http']) if (isObj(ev[key])) this.request(ev[key] as Json, key);
    for (const key of ['user', 'sentry.interfaces.User']) if (isObj(ev[key])) this.user(ev[key] as Json, key);
    if (c.ip && isObj(ev.sdk) && ev.sdk.client_ip != null) this.removeAt(ev.sdk, 'client_ip', ['sdk', 'client_ip'], '@anything:remove');
    for (const key of ['breadcrumbs', 'sentry.interfaces.Breadcrumbs']) {
      eachValue(ev[key], [key], (b, p) => {
        this.at(p, () => {
          this.field(b, 'message', null);
          this.field(b, 'data', null);
        });
      });
    }
    for (const key of ['exception', 'sentry.interfaces.Exception']) {
      eachValue(ev[key], [key], (e, p) => {
        this.at(p, () => {
          this.text(e, 'value');
          this.stacktrace(e, 'stacktrace');
          this.stacktrace(e, 'raw_stacktrace');
        });
      });
    }
    for (const key of ['threads', 'sentry.interfaces.Threads']) {
      eachValue(ev[key], [key], (t, p) => this.at(p, () => {
        this.stacktrace(t, 'stacktrace');
        this.stacktrace(t, 'raw_stacktrace');
      }));
    }
    this.stacktrace(ev, 'stacktrace');
    this.stacktrace(ev, 'sentry.interfaces.Stacktrace');
    for (const key of ['logentry', 'sentry.interfaces.Message', 'message']) {
      const le = ev[key];
      if (typeof le === 'string') this.text(ev, key);
      else if (isObj(le)) this.at([key], () => {
        this.text(le, 'formatted');
        this.text(le, 'message');
        this.field(le, 'params', null);
      });
    }
    if (Array.isArray(ev.spans)) {
      ev.spans.forEach((s, i) => isObj(s) && this.at(['spans', String(i)], () => {
        this.field(s, 'data', null);
        this.field(s, 'tags', null);
      }));
    }
    if (!this.meta) return false;
    ev._meta = mergeMeta(isObj(ev._meta) ? ev._meta : {}, this.meta);
    return true;
  }

  private at(p: string[], fn: () => void): void {
    const n = this.path.length;
    this.path.push(...p);
    try {
      fn();
    } finally {
      this.path.length = n;
    }
  }

  private request(r: Json, key: string): void {
    this.at([key], () => {
      for (const k of Object.keys(r)) {
        if (k === 'method') continue;
        if ((k === 'query_string' || k === 'cookies') && typeof r[k] === 'string') {
          this.pairString(r, k, k === 'cookies' ? ';' : '&');
          continue;
        }
        if (k === 'env' && this.c.ip && isObj(r.env)) {
          const env = r.env;
          for (const ek of Object.keys(env)) if (ek === 'REMOTE_ADDR' && env[ek] != null) this.removeAt(env, ek, ['env', ek], '@anything:remove');
        }
        this.field(r, k, null);
      }
    });
  }

  private user(u: Json, key: string): void {
    this.at([key], () => {
      for (const k of Object.keys(u)) {
        if (k === 'ip_address') {
          if (this.c.ip && u[k] != null && u[k] !== '{{auto}}') this.removeAt(u, k, [k], '@anything:remove');
          continue;
        }
        this.field(u, k, null);
      }
    });
  }

  private stacktrace(holder: Json, key: string): void {
    const st = holder[key];
    if (!isObj(st) || !Array.isArray(st.frames)) return;
    st.frames.forEach((f, i) => isObj(f) && f.vars !== undefined && this.at([key, 'frames', String(i)], () => this.field(f, 'vars', null)));
  }

  private removeAt(holder: Json, key: string, rel: string[], rule: string): void {
    holder[key] = null;
    this.remark(rel, [[rule, 'x']]);
  }

  /** Adds the remarks at this.path + rel (relative path of the value). */
  private remark(rel: string[], rem: Remark[], len?: number): void {
    this.meta ??= {};
    let node = this.meta;
    for (const k of [...this.path, ...rel]) {
      const next = node[k];
      node = isObj(next) ? next : (node[k] = {});
    }
    const entry: Json = { rem };
    if (len !== undefined) entry.len = len;
    node[''] = entry;
  }

  /** Scrubs holder[key] (a value anywhere under a personal-data field) with all the rules. */
  private field(holder: Json | unknown[], key: string | number, parentKey: string | null): void {
    this.path.push(String(key));
    try {
      const v = (holder as Record<string, unknown>)[key as string];
      const out = this.value(v, typeof key === 'string' ? key : null, parentKey, this.path.length);
      if (out !== v) (holder as Record<string, unknown>)[key as string] = out;
    } finally {
      this.path.pop();
    }
  }

  /** The scrubbed form of v (v itself when nothing changed); remarks go to this.path. */
  private value(v: unknown, key: string | null, parentKey: string | null, depth: number): unknown {
    if (v === null || v === undefined || typeof v === 'boolean') return v;
    const c = this.c;
    const k = key === null ? null : keyVerdict(c, key);
    if (k?.safe) return v;
    if (k !== null && parentKey !== null) {
      const pk = parentKey.toLowerCase();
      // The User-Agent header is kept (Relay: $http.headers.user-agent is never scrubbed).
      if (pk === 'headers' && k.lk === 'user-agent') return v;
    }
    const byKey = k === null ? null : this.keyRule(k, parentKey);
    if (byKey) {
      if (typeof v === 'string') {
        if (v === FILTERED) return v;
        this.remark([], [[byKey, 's', 0, FILTERED.length]], v.length);
        return FILTERED;
      }
      this.remark([], [[byKey, 'x']]);
      return null;
    }
    if (typeof v === 'string') return this.string(v);
    if (typeof v === 'number') {
      if (!c.defaults || !Number.isSafeInteger(v) || v < 1e14) return v;
      const s = String(v);
      const ranges: Range[] = [];
      findCards(s, ranges, '@creditcard:filter');
      if (!ranges.length) return v;
      this.remark([], [['@creditcard:filter', 's', 0, FILTERED.length]], s.length);
      return FILTERED;
    }
    if (typeof v !== 'object') return v;
    if (depth > c.maxDepth) {
      this.remark([], [['!limit', 'x']]);
      return null;
    }
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) {
        const x = v[i];
        // [name, value] pairs (headers, cookies, query strings and tags as Sentry's pair lists): the value is keyed by the name.
        if (Array.isArray(x) && x.length === 2 && typeof x[0] === 'string') {
          const name = x[0];
          this.at([String(i)], () => this.pairValue(x, name, key));
        } else this.field(v, i, key);
      }
      return v;
    }
    const o = v as Json;
    for (const k of Object.keys(o)) this.field(o, k, key);
    return v;
  }

  /**
   * A query string or Cookie header kept as one string: each `name=value` part is judged as the pair
   * {name: value} would be, and only values are replaced, so the string keeps its form.
   */
  private pairString(holder: Json, key: string, sep: string): void {
    const s = holder[key] as string;
    const ranges: Range[] = [];
    let at = 0;
    while (at <= s.length) {
      let end = s.indexOf(sep, at);
      if (end < 0) end = s.length;
      const eq = s.indexOf('=', at);
      if (eq >= 0 && eq < end && eq + 1 < end) {
        let name = s.slice(at, eq).trim();
        try {
          name = decodeURIComponent(name.replace(/\+/g, ' '));
        } catch {
          /* kept as sent */
        }
        const vs = eq + 1;
        const val = s.slice(vs, end);
        const k = keyVerdict(this.c, name);
        if (!k.safe && val !== FILTERED) {
          const byKey = this.keyRule(k, key === 'cookies' ? 'cookies' : null);
          const lower = lowerSameLength(val);
          const whole = byKey ?? (this.c.defaults && isPasswordValue(lower) ? '@password:filter' : hasSensitiveField(lower, this.c.sensitive) ? 'strip-fields' : null);
          if (whole) ranges.push({ start: vs, end, rule: whole, text: FILTERED });
          else {
            const inner: Range[] = [];
            if (this.c.defaults) this.secretsIn(val, lower, inner);
            if (this.c.ip) findIps(val, inner, '@ip:replace');
            for (const r of inner) ranges.push({ ...r, start: r.start + vs, end: r.end + vs });
          }
        }
      }
      at = end + 1;
    }
    this.path.push(key);
    try {
      const out = this.replace(s, ranges);
      if (out !== s) holder[key] = out;
    } finally {
      this.path.pop();
    }
  }

  /** The value of a [name, value] pair, scrubbed as if it were `{name: value}`. */
  private pairValue(pair: unknown[], name: string, parentKey: string | null): void {
    this.path.push('1');
    try {
      const v = pair[1];
      const out = this.value(v, name, parentKey, this.path.length);
      if (out !== v) pair[1] = out;
    } finally {
      this.path.pop();
    }
  }

  /** The rule that filters a value by its key, if any. */
  private keyRule(k: KeyVerdict, parentKey: string | null): string | null {
    if (this.c.defaults && parentKey !== null) {
      const pk = parentKey.toLowerCase();
      if (pk === 'cookies' && SENSITIVE_COOKIES.has(k.lk)) return '@anything:filter';
      if (pk === 'headers' && COOKIE_HEADERS.has(k.lk)) return '@anything:filter';
    }
    return k.rule;
  }

  /** A string under a personal-data field: filtered whole when it names a secret, else its secrets replaced. */
  private string(s: string): string {
    if (s === FILTERED || s.length === 0) return s;
    const c = this.c;
    const words = c.defaults && WORDS.test(s);
    if (!c.ip && !c.sensitive.length && !words && (!c.defaults || !SHAPES.test(s))) return s;
    // Without one of WORDS the lower-cased copy is only needed for the project's sensitive fields
    // (secretsIn reads it for "bearer", one of WORDS).
    const lower = words || c.sensitive.length ? lowerSameLength(s) : s;
    const whole = words && isPasswordValue(lower) ? '@password:filter' : hasSensitiveField(lower, c.sensitive) ? 'strip-fields' : null;
    if (whole) {
      this.remark([], [[whole, 's', 0, FILTERED.length]], s.length);
      return FILTERED;
    }
    const ranges: Range[] = [];
    if (c.defaults) this.secretsIn(s, lower, ranges);
    if (c.ip) findIps(s, ranges, '@ip:replace');
    return this.replace(s, ranges);
  }

  /** Messages and exception values: only the secrets inside are replaced (see the top of this file). */
  private text(holder: Json, key: string): void {
    const s = holder[key];
    if (typeof s !== 'string' || !this.c.defaults || s.length === 0 || !HINT.test(s)) return;
    const lower = lowerSameLength(s);
    const ranges: Range[] = [];
    this.secretsIn(s, lower, ranges);
    findSecretPairs(s, lower, isSecretKeyInText, ranges, '@password:filter');
    this.path.push(key);
    try {
      const out = this.replace(s, ranges);
      if (out !== s) holder[key] = out;
    } finally {
      this.path.pop();
    }
  }

  private secretsIn(s: string, lower: string, ranges: Range[]): void {
    // Native pre-checks first: most strings have no card-like digits, no "-----", no "//", no "bearer".
    if (CARD_HINT.test(s)) findCards(s, ranges, '@creditcard:filter');
    if (IBAN_HINT.test(s)) findIbans(s, ranges, '@iban:filter');
    if (SSN_HINT.test(s)) findSsns(s, ranges, '@usssn:filter');
    if (s.includes('-----')) findPemKeys(s, ranges, '@pemkey:filter');
    if (s.includes('//')) findUrlPasswords(s, ranges, '@urlauth:legacy');
    if (lower.includes('bearer')) findBearerTokens(s, lower, ranges, '@password:filter');
  }

  private replace(s: string, ranges: Range[]): string {
    if (!ranges.length) return s;
    const { value, remarks } = applyRanges(s, ranges);
    if (value === s) return s;
    this.remark([], remarks, s.length);
    return value;
  }
}

/** `add` merged into `base` (both _meta trees); entries of `add` win. */
export function mergeMeta(base: Json, add: Json): Json {
  for (const [k, v] of Object.entries(add)) {
    const b = base[k];
    base[k] = isObj(b) && isObj(v) && k !== '' ? mergeMeta(b, v) : v;
  }
  return base;
}

/** Scrubs one event payload in place with compiled settings; whether anything changed. */
export function scrubEvent(ev: Json, c: CompiledScrub): boolean {
  return new EventScrubber(c).scrub(ev);
}
