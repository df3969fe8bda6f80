import { isObj, str, type Json } from '../protocol/event.js';

// Browser security reports (protocol §15) → events, as Sentry shapes them: type and logger `csp`
// (or expectct, hpkp, expectstaple), the report under an interface of that name with underscored
// keys, and a message such as "Blocked 'style' from 'example.com'". Query parameters
// sentry_release / sentry_environment (kept by ingest in archive.meta) become release/environment.

const DIRECTIVE_KIND: Record<string, string> = {
  'child-src': 'child', 'connect-src': 'connect', 'font-src': 'font', 'form-action': 'form', 'frame-src': 'frame',
  'img-src': 'image', 'manifest-src': 'manifest', 'media-src': 'media', 'object-src': 'object', 'script-src': 'script',
  'script-src-elem': 'script', 'script-src-attr': 'script', 'style-src': 'style', 'style-src-elem': 'style',
  'style-src-attr': 'style', 'worker-src': 'worker', 'default-src': 'default', 'base-uri': 'base',
};

function underscored(o: Json): Json {
  const out: Json = {};
  for (const [k, v] of Object.entries(o)) out[k.replace(/-/g, '_')] = v;
  return out;
}

function host(uri: string): string {
  if (!uri || uri === 'self' || uri === "'self'") return "'self'";
  const m = /^([a-zA-Z][a-zA-Z0-9+.-]*):(?:\/\/([^/?#]*))?/.exec(uri.includes(':') ? uri : uri + ':');
  return m ? (m[2] ? m[2].replace(/^[^@]*@/, '') : m[1]!.toLowerCase()) : uri;
}

function queryParams(meta: Json): Json {
  const q = meta.query ?? meta.query_params ?? meta.params;
  return isObj(q) ? q : {};
}

export function securityReportToEvent(body: unknown, meta: Json): Json | null {
  if (!isObj(body)) return null;
  const q = queryParams(meta);
  const base: Json = { platform: 'javascript', level: 'error' };
  if (str(q.sentry_release)) base.release = str(q.sentry_release);
  if (str(q.sentry_environment)) base.environment = str(q.sentry_environment);
  if (isObj(body['csp-report'])) {
    const csp = underscored(body['csp-report']);
    const violated = str(csp.violated_directive) ?? '';
    const effective = str(csp.effective_directive) || violated.trim().split(/\s+/)[0] || '';
    const blocked = str(csp.blocked_uri) ?? '';
    const kind = DIRECTIVE_KIND[effective] ?? effective;
    let message: string;
    if (blocked === 'inline' || (effective.startsWith('script-src') && violated.includes("'unsafe-inline'"))) message = `Blocked unsafe inline '${kind}'`;
    else if (blocked === 'eval' || violated.includes("'unsafe-eval'")) message = `Blocked unsafe eval() '${kind}'`;
    else message = `Blocked '${kind}' from '${host(blocked)}'`;
    return {
      ...base,
      type: 'csp',
      logger: 'csp',
      csp: { ...csp, effective_directive: effective },
      logentry: { formatted: message },
      culprit: `${effective} ${violated.split(/\s+/).slice(1).join(' ')}`.trim(),
      request: { url: str(csp.document_uri) ?? undefined, headers: isObj(meta.headers) ? meta.headers : undefined },
      tags: { 'effective-directive': effective, 'blocked-uri': blocked },
    };
  }
  const kinds: [string, string, string][] = [
    ['expect-ct-report', 'expectct', 'Expect-CT failed'],
    ['expect-staple-report', 'expectstaple', 'Expect-Staple failed'],
  ];
  for (const [key, type, title] of kinds) {
    if (isObj(body[key])) {
      const r = underscored(body[key] as Json);
      return { ...base, type, logger: type, [type]: r, logentry: { formatted: `${title} for '${str(r.hostname) ?? ''}'` } };
    }
  }
  if (str(body.hostname) && (body['served-certificate-chain'] || body['known-pins'])) {
    const r = underscored(body);
    return { ...base, type: 'hpkp', logger: 'hpkp', hpkp: r, logentry: { formatted: `Public key pinning validation failed for '${str(r.hostname)}'` } };
  }
  return null;
}
