// What makes the realistic traffic realistic: each request of a fixture is one of `variants` bodies
// drawn from a seeded generator, differing where real events of one error differ — the event time,
// breadcrumbs (how many, their times, categories and messages), the user, a request id (in `extra` and
// the request headers), a trace id,
// tag values (server, route, customer tier, browser) and the stack's depth (framework frames below the
// application's). Without it every request of a fixture repeated the same bytes apart from the event
// id and a group tag, so the archive's dictionary compression stored a repeat in ~100 B and ingest
// did its cheapest work: numbers no deployment would see.
//
// What does not vary: the error itself (type, in-app frames, message template), so the issues are
// the same as in the fixed traffic; a fixture whose stack has no in-app frame keeps its depth (its
// system frames decide its issue).

import { computeGrouping } from '../src/grouping/index.js';

type Json = Record<string, unknown>;

/** mulberry32: a small seeded generator; the same seed gives the same bodies on every machine. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A 32-bit seed from text (FNV-1a), so each fixture has its own stream. */
export function seedOf(text: string, salt: number): number {
  let h = 0x811c9dc5 ^ salt;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

const hex = (r: () => number, n: number): string => {
  let s = '';
  while (s.length < n) s += Math.floor(r() * 0x100000000).toString(16).padStart(8, '0');
  return s.slice(0, n);
};
const pick = <T>(r: () => number, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
/** 0 … n-1, skewed to small values (a few users and routes are most of the traffic, as in real use). */
const skewed = (r: () => number, n: number): number => Math.floor(r() * r() * n);

const ROUTES = ['/', '/login', '/checkout', '/cart', '/search', '/api/orders', '/api/orders/:id', '/api/users/:id', '/settings', '/reports/export', '/api/payments', '/products/:slug', '/api/inventory', '/admin', '/signup', '/api/sessions', '/help', '/api/notifications', '/orders/:id/invoice', '/api/webhooks/stripe'];
const TIERS = ['free', 'team', 'enterprise'];
const BROWSERS = ['Chrome 131', 'Chrome 130', 'Firefox 133', 'Safari 18.1', 'Edge 131', 'Chrome Mobile 131', 'Mobile Safari 18.1'];
const CRUMBS = ['http', 'query', 'navigation', 'console', 'ui.click', 'auth'] as const;
const TABLES = ['orders', 'users', 'sessions', 'products', 'payments', 'inventory', 'audit_log'];

function breadcrumb(r: () => number, ts: number): Json {
  const cat = pick(r, CRUMBS);
  const n = Math.floor(r() * 100_000);
  const route = pick(r, ROUTES).replace(/:(\w+)/g, () => String(Math.floor(r() * 50_000)));
  switch (cat) {
    case 'http':
      return { timestamp: ts, type: 'http', category: 'fetch', data: { method: pick(r, ['GET', 'GET', 'POST', 'PUT']), url: `https://api.example.com${route}?page=${n % 40}`, status_code: pick(r, [200, 200, 200, 201, 304, 404, 500]) } };
    case 'query':
      return { timestamp: ts, type: 'default', category: 'query', message: `SELECT * FROM ${pick(r, TABLES)} WHERE id = ${n} LIMIT ${1 + (n % 50)}`, data: { duration_ms: Math.round(r() * 400) / 10 } };
    case 'navigation':
      return { timestamp: ts, type: 'navigation', category: 'navigation', data: { from: pick(r, ROUTES), to: route } };
    case 'console':
      return { timestamp: ts, type: 'default', category: 'console', level: pick(r, ['info', 'log', 'warning']), message: `processed ${n % 977} items for job ${hex(r, 8)} in ${Math.round(r() * 900)} ms` };
    case 'ui.click':
      return { timestamp: ts, type: 'default', category: 'ui.click', message: `body > div#app > main > button.btn-${pick(r, ['primary', 'secondary', 'danger'])}[data-id="${n}"]` };
    case 'auth':
      return { timestamp: ts, type: 'default', category: 'auth', message: `token refreshed for session ${hex(r, 12)}` };
  }
}

function setTag(ev: Json, key: string, value: string): void {
  const tags = ev.tags;
  if (Array.isArray(tags)) {
    const i = tags.findIndex((t) => Array.isArray(t) && t[0] === key);
    if (i >= 0) tags[i] = [key, value];
    else tags.push([key, value]);
  } else if (tags && typeof tags === 'object') (tags as Json)[key] = value;
  else ev.tags = { [key]: value };
}

/** The frames of the stack that decides the issue (the innermost exception's, else the event's). */
function mainFrames(ev: Json): Json[] | null {
  const exc = ev.exception as Json | Json[] | undefined;
  const values = Array.isArray(exc) ? exc : (exc?.values as Json[] | undefined);
  const st = (values?.length ? values[values.length - 1]!.stacktrace : ev.stacktrace) as Json | undefined;
  return Array.isArray(st?.frames) ? (st.frames as Json[]) : null;
}

/** Varies a (non-transaction) event in place; `now` in ms. */
export function varyEvent(ev: Json, r: () => number, now: number): void {
  // the event happened within the hour before the run (SDKs send at once; some queue offline)
  const ts = (now - Math.floor(r() * 3_600_000)) / 1000;
  ev.timestamp = typeof ev.timestamp === 'string' ? new Date(ts * 1000).toISOString() : ts;

  // 0–40 breadcrumbs, most events a handful, over the minutes before the event
  const count = skewed(r, 41);
  const crumbs: Json[] = [];
  let t = ts - r() * 300;
  for (let i = 0; i < count; i++) {
    t += r() * ((ts - t) / Math.max(1, count - i));
    crumbs.push(breadcrumb(r, Math.round(t * 1000) / 1000));
  }
  ev.breadcrumbs = { values: crumbs };

  const user = skewed(r, 20_000);
  ev.user = { ...((ev.user as Json | undefined) ?? {}), id: String(100_000 + user), email: `user${user}@example.com`, ip_address: `198.51.${user % 256}.${(user * 7) % 254 + 1}` };

  const requestId = `${hex(r, 8)}-${hex(r, 4)}-4${hex(r, 3)}-a${hex(r, 3)}-${hex(r, 12)}`;
  // in `extra` and the request's headers, not a tag: a tag of one value per event would add an
  // issue_tag row per event, which is the user's choice to make, not the bench's
  ev.extra = { ...(ev.extra && typeof ev.extra === 'object' && !Array.isArray(ev.extra) ? (ev.extra as Json) : {}), request_id: requestId };
  const req = ev.request as Json | undefined;
  if (req && typeof req === 'object') req.headers = { ...(typeof req.headers === 'object' && req.headers && !Array.isArray(req.headers) ? (req.headers as Json) : {}), 'X-Request-Id': requestId };

  const contexts = (ev.contexts && typeof ev.contexts === 'object' ? ev.contexts : (ev.contexts = {})) as Json;
  contexts.trace = { ...((contexts.trace as Json | undefined) ?? {}), trace_id: hex(r, 32), span_id: hex(r, 16) };

  ev.server_name = `web-${1 + skewed(r, 12)}`;
  setTag(ev, 'route', pick(r, ROUTES));
  setTag(ev, 'customer_tier', pick(r, TIERS));
  if (ev.platform === 'javascript') setTag(ev, 'browser', pick(r, BROWSERS));

  // 0–8 framework frames below the application's (outermost first, as in the protocol), only where
  // the issue comes from the app frames once the stack-trace rules have run: where it comes from all
  // frames (the SDK's in-app frames are vendor code to Sentry's rules, as in the Laravel and Cocoa
  // fixtures), each depth would be a new issue — 933 issues instead of fixed traffic's 773 on 10,000
  // events of the mix, which the comment at the top says does not happen.
  const frames = mainFrames(ev);
  if (frames?.some((f) => f && f.in_app === true) && computeGrouping(ev).variants.app?.contributes === true) {
    const depth = Math.floor(r() * 9);
    const extra: Json[] = [];
    for (let i = 0; i < depth; i++) extra.push({ filename: `framework/dispatch/layer${i}.js`, module: `framework.dispatch.layer${i}`, function: pick(r, ['handle', 'next', 'dispatch', 'invoke', 'call']), lineno: 10 + Math.floor(r() * 400), in_app: false });
    frames.unshift(...extra);
  }
}
