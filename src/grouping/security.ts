// Security reports (CSP, HPKP, Expect-CT, Expect-Staple) group by a static salt (the report
// kind or CSP directive) plus the affected host / blocked origin.
import { component, update, type GroupingComponent } from './components.js';
import { iface, isObj, str, type Json } from './event.js';

const LOCAL = "'self'";

/** Blocked URI -> `'self'`, a bare scheme (`data`, `blob`...) or the URL's host. */
export function normalizeBlockedUri(value: string | null): string {
  if (value === null || value === '' || value === LOCAL || value === 'self') return LOCAL;
  let v = value;
  if (!v.includes(':')) v += ':';
  const m = /^([a-zA-Z][a-zA-Z0-9+.-]*):(?:\/\/([^/?#]*))?/.exec(v);
  if (!m) return value;
  const host = m[2];
  if (host) return host.replace(/^[^@]*@/, '');
  return m[1]!.toLowerCase();
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
    uriC.contributes = true;
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
