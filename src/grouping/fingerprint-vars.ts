// Resolution of `{{ variable }}` entries in fingerprints. `{{ default }}` stays as a marker
// (it is replaced by the default grouping values when hashing). Unknown variables are kept
// verbatim, as this grouping config has always done.
import { fingerprintVariable } from './fingerprint.js';
import { tagPairs } from './fingerprint.js';
import { isObj, str, type Json } from './event.js';

function lastException(ev: Json): Json | null {
  const raw = ev.exception ?? ev['sentry.interfaces.Exception'];
  const list = Array.isArray(raw) ? raw : isObj(raw) ? (Array.isArray(raw.values) ? raw.values : [raw]) : [];
  const last = list[list.length - 1];
  return isObj(last) ? last : null;
}

function framesOf(st: unknown): Json[] | null {
  return isObj(st) && Array.isArray(st.frames) && st.frames.length ? st.frames.filter(isObj) : null;
}

/** The frame a crash happened in: the innermost in-app frame, else the innermost frame. */
export function crashFrame(ev: Json): Json | null {
  let frames = framesOf(lastException(ev)?.stacktrace) ?? framesOf(ev.stacktrace);
  if (!frames) {
    const t = ev.threads;
    const threads = Array.isArray(t) ? t : isObj(t) && Array.isArray(t.values) ? t.values : null;
    if (threads && threads.length === 1 && isObj(threads[0])) frames = framesOf(threads[0].stacktrace);
  }
  let fallback: Json | null = null;
  for (const f of [...(frames ?? [])].reverse()) {
    if (f.in_app === true) return f;
    fallback ??= f;
  }
  return fallback;
}

function resolveVariable(key: string, ev: Json): string | null {
  const ex = lastException(ev);
  const le = isObj(ev.logentry) ? ev.logentry : null;
  switch (key) {
    case 'transaction': return str(ev.transaction) || '<no-transaction>';
    case 'message': return str(le?.formatted) || str(le?.message) || str(ex?.value) || (typeof ev.message === 'string' ? ev.message : '') || '<no-message>';
    case 'type': case 'error.type': return str(ex?.type) || '<no-type>';
    case 'value': case 'error.value': return str(ex?.value) || '<no-value>';
    case 'function': case 'stack.function': return str(crashFrame(ev)?.function) || '<no-function>';
    case 'path': case 'stack.abs_path': {
      const f = crashFrame(ev);
      return str(f?.abs_path) || str(f?.filename) || '<no-abs-path>';
    }
    case 'stack.filename': {
      const f = crashFrame(ev);
      return str(f?.filename) || str(f?.abs_path) || '<no-filename>';
    }
    case 'module': case 'stack.module': return str(crashFrame(ev)?.module) || '<no-module>';
    case 'package': case 'stack.package': {
      const pkg = str(crashFrame(ev)?.package);
      return (pkg && pkg.split('/').pop()!.split('\\').pop()) || '<no-package>';
    }
    case 'level': return str(ev.level) || '<no-level>';
    case 'logger': return str(ev.logger) || '<no-logger>';
  }
  if (key.startsWith('tags.')) {
    const tag = key.slice(5);
    for (const [k, v] of tagPairs(ev)) if (k === tag && v !== null) return v;
    return `<no-value-for-tag-${tag}>`;
  }
  return null;
}

export function resolveFingerprint(fp: string[], ev: Json): string[] {
  return fp.map((entry) => {
    const key = fingerprintVariable(entry);
    if (key === null) return entry;
    if (key === 'default') return '{{ default }}';
    return resolveVariable(key, ev) ?? entry;
  });
}
