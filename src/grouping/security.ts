// Security reports (CSP, HPKP, Expect-CT, Expect-Staple) group by a static salt (the report
// kind or CSP directive) plus the affected host / blocked origin.
import { component, update, type GroupingComponent } from './components.js';
import { iface, isObj, str, type Json } from './event.js';

const LOCAL = "'self'";

// Schemes whose URLs carry a host part, i.e. that are written `scheme://...` even without one.
const NETLOC_SCHEMES = new Set([
  '', 'ftp', 'http', 'gopher', 'nntp', 'telnet', 'imap', 'wais', 'file', 'mms', 'https', 'shttp', 'snews',
  'prospero', 'rtsp', 'rtspu', 'rsync', 'svn', 'svn+ssh', 'sftp', 'nfs', 'git', 'git+ssh', 'ws', 'wss',
]);

/**
 * Blocked URI -> `'self'` for same-origin reports, the host (with port) for http(s) URLs, and
 * `scheme:` / `scheme://host` otherwise (`data:`, `blob:`, `chrome-extension://abc`). Values
 * without a colon are bare schemes (`data`, `blob`, `eval`).
 */
export function normalizeBlockedUri(value: string | null): string {
  if (value === null || value === '' || value === LOCAL || value === 'self') return LOCAL;
  let scheme: string;
  let host = '';
  const colon = value.indexOf(':');
  if (colon < 0) scheme = value;
  else {
    const candidate = value.slice(0, colon);
    if (/^[a-zA-Z][a-zA-Z0-9+.-]*$/.test(candidate)) {
      scheme = candidate.toLowerCase();
      const rest = value.slice(colon + 1);
      if (rest.startsWith('//')) host = /^\/\/([^/?#]*)/.exec(rest)![1]!;
    } else {
      scheme = '';
      if (value.startsWith('//')) host = /^\/\/([^/?#]*)/.exec(value)![1]!;
    }
    if (scheme === 'http' || scheme === 'https') return host;
  }
  const rest = host || NETLOC_SCHEMES.has(scheme) ? `//${host}` : '';
  return scheme ? `${scheme}:${rest}` : rest;
}

function salted(id: string, salt: string, rest: GroupingComponent[]): GroupingComponent {
  return component(id, [component('salt', [salt], { hint: 'a static salt' }), ...rest]);
}

export function cspComponent(csp: Json): GroupingComponent {
  const violated = str(csp.violated_directive);
  const effective = str(csp.effective_directive) || (violated ? violated.trim().split(/\s+/)[0] ?? '' : '');
  const uri = normalizeBlockedUri(str(csp.blocked_uri));
  let localViolation: string | null = null;
  if (violated && effective === 'script-src' && uri === LOCAL) {
    if (violated.includes("'unsafe-inline'")) localViolation = 'unsafe-inline';
    else if (violated.includes("'unsafe-eval'")) localViolation = 'unsafe-eval';
  }
  const violation = component('violation');
  const uriC = component('uri');
  if (localViolation) {
    update(violation, { values: [`'${localViolation}'`] });
    update(uriC, { contributes: false, hint: 'violation takes precedence', values: [uri] });
  } else {
    update(violation, { contributes: false, hint: 'not a local script violation' });
    update(uriC, { values: [uri] });
  }
  return salted('csp', effective, [violation, uriC]);
}

function hostComponent(id: string, salt: string, data: Json): GroupingComponent {
  const host = str(data.hostname);
  return salted(id, salt, [component('hostname', host ? [host] : [])]);
}

/** The security-report component of an event, if it carries one. */
export function securityComponent(event: Json): GroupingComponent | null {
  const csp = iface(event, 'csp', 'sentry.interfaces.Csp');
  if (isObj(csp)) return cspComponent(csp);
  const hpkp = iface(event, 'hpkp', 'sentry.interfaces.Hpkp');
  if (isObj(hpkp)) return hostComponent('hpkp', 'hpkp', hpkp);
  const ct = iface(event, 'expectct', 'sentry.interfaces.ExpectCT');
  if (isObj(ct)) return hostComponent('expect-ct', 'expect-ct', ct);
  const staple = iface(event, 'expectstaple', 'sentry.interfaces.ExpectStaple');
  if (isObj(staple)) return hostComponent('expect-staple', 'expect-staple', staple);
  return null;
}
