import fc from 'fast-check';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startApp, type TestApp } from '../helpers/app.js';
import { cli } from '../helpers/server.js';
import { logIn } from '../ui/web.js';

// Bad input gets a 4xx, on every route (docs/SECURITY.md, "Malformed parameters"): every /api/0/ and UI
// route, every query parameter it reads, and its path parameters, filled from a seeded generator of
// malformed values — huge, negative and fractional numbers, broken percent-encoding, search syntax
// with empty lists and absurd ages, cursors past any integer — against the real server on real
// PostgreSQL. Not one answer may be a 5xx; an /api/0/ refusal is JSON {"detail"}, a UI refusal an
// HTML page. The issue's reported cases are asserted by name first.

let app: TestApp;
let token: string;
let session: string;
let issueId = '';
let eventId = '';

const ORG = 'crash-cache';
const PROJECT = 'fuzz';

beforeAll(async () => {
  app = await startApp(PROJECT, { ORGANIZATION_SLUG: ORG });
  token = /^([0-9a-f]{64})$/m.exec(await cli(['token', 'create', '--name', 'fuzz'], { DATABASE_URL: app.db.url }))![1]!;
  await cli(['user', 'create', '--email', 'fuzz@example.com', '--password', 'fuzz password 1'], { DATABASE_URL: app.db.url });
  session = await logIn(app.server, 'fuzz@example.com', 'fuzz password 1');
  eventId = 'f'.repeat(32);
  const r = await fetch(`${app.server.url}/api/${app.projectId}/store/`, {
    method: 'POST',
    headers: { 'x-sentry-auth': app.auth, 'content-type': 'application/json' },
    body: JSON.stringify({ event_id: eventId, level: 'error', message: 'fuzz me', tags: { server: 'a' } }),
  });
  expect(r.status).toBe(200);
  const deadline = Date.now() + 30_000;
  while (!issueId) {
    const e = await api(`/api/0/projects/${ORG}/${PROJECT}/events/${eventId}/`);
    if (e.status === 200) issueId = ((await e.json()) as { groupID: string }).groupID;
    else if (Date.now() > deadline) throw new Error('event not digested');
    else await new Promise((res) => setTimeout(res, 100));
  }
}, 120_000);
afterAll(async () => {
  await app?.close();
});

function api(path: string, init: RequestInit = {}): Promise<Response> {
  return fetch(app.server.url + path, { ...init, redirect: 'manual', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...(init.headers ?? {}) } });
}
function ui(path: string, init: RequestInit = {}): Promise<Response> {
  return fetch(app.server.url + path, { ...init, redirect: 'manual', headers: { cookie: session, ...(init.headers ?? {}) } });
}

/** Checks one answer: no 5xx; a 4xx is {"detail"} on /api/0/ and an HTML page in the UI. */
async function check(r: Response, what: string, isApi = what.includes(' /api/')): Promise<number> {
  const body = await r.text();
  if (r.status >= 500) throw new Error(`${what} → ${r.status} ${body.slice(0, 300)}`);
  if (r.status >= 400) {
    if (isApi) expect(JSON.parse(body), what).toHaveProperty('detail');
    // a UI route's refusal is a page; a path no route matches (an empty id) stays the router's JSON 404
    else if (/^application\/json/.test(r.headers.get('content-type') ?? '')) expect(JSON.parse(body).detail, what).toMatch(/^no route for |\(MAX_URL_CHARS\)$/);
    else expect(r.headers.get('content-type') ?? '', what).toMatch(/^text\/html/);
  }
  return r.status;
}

it('answers the reported cases with 400 and a detail', async () => {
  const q = (query: string) => `/api/0/projects/${ORG}/${PROJECT}/issues/?query=${encodeURIComponent(query)}`;
  const cases: Array<[string, RegExp]> = [
    [q('is:[]'), /is:/],
    [q('title:[]'), /title/],
    [q('has:[]'), /has:/],
    [q('age:-999999w'), /age/],
    [`/api/0/projects/${ORG}/${PROJECT}/issues/?cursor=99999999999999999999999:1:0`, /cursor/],
    [`/api/0/projects/${ORG}/${PROJECT}/issues/?cursor=1:99999999999999999999999:0`, /cursor/],
    [`/api/0/issues/99999999999999999999999/`, /issue id/],
    [`/api/0/issues/%E0%A4%A/`, /percent-encoding/],
  ];
  for (const [path, why] of cases) {
    const r = await api(path);
    expect(r.status, path).toBe(400);
    expect(((await r.json()) as { detail: string }).detail, path).toMatch(why);
  }
  // unauthenticated too: the path is refused before the token is looked at
  const r = await fetch(`${app.server.url}/api/0/issues/%zz/`);
  expect(r.status).toBe(400);
  // and in the UI, as a page
  const page = await ui('/issues/999999999999999999');
  expect(page.status).toBe(400);
  expect(page.headers.get('content-type')).toMatch(/^text\/html/);
  expect(await page.text()).toContain('issue id 999999999999999999 is out of range');
  const longer = await ui('/issues/99999999999999999999999');
  expect(longer.status).toBe(404);
  expect(await longer.text()).toContain('no issue');
  const bad = await ui(`/projects/${PROJECT}/issues?q=${encodeURIComponent('is:[]')}`);
  expect(bad.status).toBe(400);
  expect(await bad.text()).toContain('is:');
});

it('caps searches: SEARCH_MAX_FILTERS terms and SEARCH_MAX_QUERY_CHARS characters, with a 400 naming the setting', async () => {
  const list = (query: string) => api(`/api/0/projects/${ORG}/${PROJECT}/issues/?query=${encodeURIComponent(query)}`);
  const terms = (n: number) => Array.from({ length: n }, (_, i) => `t${i}:v`).join(' ');
  expect((await list(terms(20))).status).toBe(200);
  const over = await list(terms(21));
  expect(over.status).toBe(400);
  expect(((await over.json()) as { detail: string }).detail).toMatch(/21 terms .*at most 20 \(SEARCH_MAX_FILTERS\)/);
  // list values count: 19 filters and a list of 2
  expect((await list(`${terms(19)} release:[a,b]`)).status).toBe(400);
  const long = await list(`message:"${'x'.repeat(1000)}"`);
  expect(long.status).toBe(400);
  expect(((await long.json()) as { detail: string }).detail).toMatch(/longer than 1000 characters \(SEARCH_MAX_QUERY_CHARS\)/);
  // the bulk change takes the same query, and the UI's search box
  const bulk = await api(`/api/0/projects/${ORG}/${PROJECT}/issues/?query=${encodeURIComponent(terms(21))}`, { method: 'PUT', body: '{"status":"resolved"}' });
  expect(bulk.status).toBe(400);
  const page = await ui(`/projects/${PROJECT}/issues?q=${encodeURIComponent(terms(21))}`);
  expect(page.status).toBe(400);
  expect(await page.text()).toContain('SEARCH_MAX_FILTERS');
});

it('never answers a 5xx to generated bodies of the routes that take one (600 requests, seeded)', async () => {
  const issuePaths = () => [`/api/0/issues/${issueId}/`, `/api/0/projects/${ORG}/${PROJECT}/issues/?id=${issueId}`, `/api/0/projects/${ORG}/${PROJECT}/`, `/api/0/projects/${ORG}/${PROJECT}/hooks/`, `/api/0/projects/${ORG}/${PROJECT}/hooks/1/`, `/api/0/issues/${issueId}/comments/`];
  const body = fc.oneof(
    fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v)),
    fc.dictionary(fc.constantFrom('status', 'statusDetails', 'isBookmarked', 'assignedTo', 'text', 'hasSeen', 'substatus', 'fingerprintingRules', 'groupingEnhancements', 'url', 'events', 'name', 'ignoreDuration', 'merge', 'discard'), fc.oneof(fc.jsonValue({ maxDepth: 3 }), weird)).map((v) => JSON.stringify(v)),
    fc.constantFrom('', '{', '{"status":', 'null', '[]', '"x"', '{"statusDetails":{"ignoreDuration":1e309}}', '{"statusDetails":{"ignoreUntil":"2024-13-45"}}', '{"statusDetails":{"ignoreCount":-1,"ignoreWindow":99999999999999999999}}', '\u0000'),
  );
  const samples = fc.sample(fc.record({ path: fc.integer({ min: 0, max: 5 }), method: fc.constantFrom('PUT', 'POST'), body }), { numRuns: 600, seed: 19 });
  for (const s of samples) {
    const path = issuePaths()[s.path]!;
    const method = path.endsWith('/hooks/') || path.endsWith('/comments/') ? 'POST' : s.method === 'POST' ? 'PUT' : s.method;
    const r = await api(path, { method, body: s.body });
    await check(r, `${method} ${path} ${s.body.slice(0, 200)}`, true);
  }
  // and UI forms
  const page = await (await ui(`/projects/${PROJECT}/grouping`)).text();
  const csrf = /name="_csrf" value="([^"]+)"/.exec(page)![1]!;
  for (const s of fc.sample(fc.record({ status: weird, minutes: weird, rules: weird }), { numRuns: 100, seed: 20 })) {
    const form = (f: Record<string, string>) => ({ method: 'POST', body: new URLSearchParams(f).toString(), headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    await check(await ui(`/issues/${issueId}/status`, form({ _csrf: csrf, status: s.status.toWellFormed(), minutes: s.minutes.toWellFormed() })), 'POST status', false);
    await check(await ui(`/projects/${PROJECT}/grouping`, form({ _csrf: csrf, fingerprinting: s.rules.toWellFormed(), enhancements: s.rules.toWellFormed() })), 'POST grouping', false);
    await check(await ui(`/issues/${issueId}/assign`, form({ _csrf: csrf, assignee: s.status.toWellFormed() })), 'POST assign', false);
    await check(await ui(`/issues/${issueId}/bookmark`, form({ _csrf: csrf, bookmarked: s.minutes.toWellFormed() })), 'POST bookmark', false);
    await check(await ui(`/issues/${issueId}/comments`, form({ _csrf: csrf, text: s.rules.toWellFormed() })), 'POST comment', false);
    await check(await ui(`/issues/${issueId}/comments/${s.minutes.toWellFormed() || '1'}/edit`, form({ _csrf: csrf, text: s.rules.toWellFormed() })), 'POST comment edit', false);
  }
  expect(app.server.logs.filter((l) => l.includes('unhandled error'))).toEqual([]);
}, 300_000);

// Malformed values for any parameter.
const weird = fc.oneof(
  fc.constantFrom('', ' ', '-1', '0', '-0', '1.5', '1e309', 'NaN', 'Infinity', '-99999999999999999999', '99999999999999999999999', '9223372036854775808', '0x10', '%', '%zz', '%E0%A4%A', '%00', '\u0000', '\uD800', '../..', 'null', '[]', '{}', '"', "'", '\\', ',', ':', '::', '0:0:0', '1:1:1', '-1:-1:0', '1:2:3:4', 'a'.repeat(5000)),
  fc.constantFrom('is:[]', 'title:[]', 'has:[]', 'age:-999999w', 'age:+99999999999d', 'age:-1x', 'firstSeen:-999999w', 'lastSeen:>9999999999', 'times_seen:>1e99', 'level:[,]', '!:', '!', 'tags[]:x', 'tags[x:1', 'is:', 'has:', 'release:[', 'environment:"', 'a:"b', 'event.timestamp:>2024-13-45', 'issue.id:99999999999999999999', 'id:-1'),
  fc.string({ maxLength: 40 }),
  fc.integer().map(String),
  fc.double().map(String),
);
const searchQuery = fc.array(weird, { maxLength: 6 }).map((a) => a.join(' '));

interface Route { method: string; path: string; params: string[]; ui?: boolean }

function routes(): Route[] {
  const org = `/api/0/organizations/${ORG}`;
  const proj = `/api/0/projects/${ORG}/${PROJECT}`;
  const list = ['cursor', 'limit', 'per_page', 'query', 'statsPeriod', 'sort', 'environment', 'project'];
  const issue = ['statsPeriod', 'groupStatsPeriod', 'summaryStatsPeriod', 'environment', 'key', 'limit', 'cursor', 'full', 'sort'];
  return [
    { method: 'GET', path: '/api/0/', params: [] },
    { method: 'GET', path: '/api/0/organizations/', params: ['cursor', 'limit'] },
    { method: 'GET', path: `${org}/`, params: [] },
    { method: 'GET', path: `${org}/projects/`, params: ['cursor', 'limit'] },
    { method: 'GET', path: '/api/0/projects/', params: ['cursor', 'limit'] },
    { method: 'GET', path: `${proj}/`, params: [] },
    { method: 'GET', path: `${proj}/keys/`, params: ['cursor', 'limit'] },
    { method: 'GET', path: `${proj}/hooks/`, params: [] },
    { method: 'GET', path: `${proj}/hooks/{id}/`, params: [] },
    { method: 'GET', path: `${proj}/issues/`, params: [...list, 'id', 'shortIdLookup', 'groupStatsPeriod'] },
    { method: 'GET', path: `${org}/issues/`, params: [...list, 'id'] },
    { method: 'PUT', path: `${proj}/issues/`, params: ['id', 'query', 'status'] },
    { method: 'GET', path: '/api/0/issues/{issue}/', params: issue },
    { method: 'GET', path: `${org}/issues/{issue}/`, params: issue },
    { method: 'GET', path: '/api/0/issues/{issue}/tags/', params: issue },
    { method: 'GET', path: '/api/0/issues/{issue}/tags/{key}/', params: issue },
    { method: 'GET', path: '/api/0/issues/{issue}/tags/{key}/values/', params: issue },
    { method: 'GET', path: '/api/0/issues/{issue}/grouping/info/', params: [] },
    { method: 'GET', path: '/api/0/issues/{issue}/hashes/', params: ['cursor', 'limit', 'full'] },
    { method: 'DELETE', path: '/api/0/issues/{issue}/hashes/', params: ['id'] },
    { method: 'GET', path: '/api/0/issues/{issue}/events/', params: ['cursor', 'limit', 'full', 'query', 'environment', 'statsPeriod'] },
    { method: 'GET', path: '/api/0/issues/{issue}/events/{event}/', params: ['environment'] },
    { method: 'GET', path: '/api/0/issues/{issue}/user-reports/', params: ['cursor', 'limit'] },
    { method: 'GET', path: '/api/0/issues/{issue}/comments/', params: ['cursor', 'limit', 'per_page'] },
    { method: 'GET', path: `${proj}/events/`, params: ['cursor', 'limit', 'full', 'query', 'statsPeriod'] },
    { method: 'GET', path: `${proj}/events/{event}/`, params: [] },
    { method: 'GET', path: `${proj}/events/{event}/grouping-info/`, params: [] },
    { method: 'GET', path: `${proj}/events/{event}/attachments/`, params: ['cursor', 'limit'] },
    { method: 'GET', path: `${proj}/events/{event}/attachments/{id}/`, params: ['download'] },
    { method: 'GET', path: `${proj}/user-feedback/`, params: ['cursor', 'limit'] },
    { method: 'GET', path: `${org}/monitors/`, params: ['cursor', 'limit', 'project', 'environment'] },
    { method: 'GET', path: `${org}/monitors/{key}/`, params: ['environment'] },
    { method: 'GET', path: `${org}/monitors/{key}/checkins/`, params: ['cursor', 'limit', 'environment', 'statsPeriod'] },
    { method: 'GET', path: `${org}/events/{key}/`, params: [] },
    { method: 'GET', path: `${org}/eventids/{event}/`, params: [] },
    { method: 'GET', path: `${org}/releases/`, params: ['cursor', 'limit', 'query', 'health', 'project', 'statsPeriod', 'per_page', 'sort'] },
    { method: 'GET', path: `${org}/releases/{key}/`, params: ['health', 'project'] },
    { method: 'GET', path: `${proj}/releases/`, params: ['cursor', 'limit', 'query', 'health'] },
    { method: 'GET', path: `${proj}/outcomes/`, params: ['statsPeriod'] },
    { method: 'GET', path: `${org}/stats_v2/`, params: ['field', 'groupBy', 'statsPeriod', 'interval', 'project', 'outcome', 'category', 'reason', 'start', 'end'] },
    { method: 'GET', path: '/', params: [], ui: true },
    { method: 'GET', path: '/login', params: ['next'], ui: true },
    { method: 'GET', path: '/projects', params: ['period'], ui: true },
    { method: 'GET', path: `/projects/${PROJECT}/issues`, params: ['q', 'sort', 'cursor', 'status', 'level', 'environment', 'release'], ui: true },
    { method: 'GET', path: `/projects/{key}/issues`, params: ['q'], ui: true },
    { method: 'GET', path: '/issues/{issue}', params: ['period', 'environment'], ui: true },
    { method: 'GET', path: '/issues/{issue}/events/{event}', params: [], ui: true },
    { method: 'GET', path: `/projects/${PROJECT}/releases`, params: ['period', 'environment'], ui: true },
    { method: 'GET', path: `/projects/${PROJECT}/grouping`, params: ['saved'], ui: true },
    { method: 'GET', path: `/projects/${PROJECT}/outcomes`, params: ['period', 'minutes'], ui: true },
    { method: 'GET', path: '/static/{key}', params: [], ui: true },
  ];
}

// Path parameters: mostly malformed, sometimes the real one (so the query parameters are reached).
const pathValue = fc.oneof({ weight: 2, arbitrary: fc.constant(null) }, { weight: 3, arbitrary: weird });
function fill(path: string, pick: Record<string, string | null>): string {
  const enc = (v: string) => (/^%/.test(v) ? v : encodeURIComponent(v.toWellFormed()));
  return path
    .replace('{issue}', pick.issue === null ? issueId : enc(pick.issue!))
    .replace('{event}', pick.event === null ? eventId : enc(pick.event!))
    .replace('{id}', pick.id === null ? '1' : enc(pick.id!))
    .replace('{key}', pick.key === null ? 'server' : enc(pick.key!));
}

it('never answers a 5xx to generated parameters on any route (4,000 requests, seeded)', async () => {
  const all = routes();
  const input = fc.record({
    route: fc.integer({ min: 0, max: all.length - 1 }),
    path: fc.record({ issue: pathValue, event: pathValue, id: pathValue, key: pathValue }),
    values: fc.array(fc.oneof(weird, searchQuery), { minLength: 1, maxLength: 6 }),
    raw: fc.boolean(), // the value sent verbatim (broken percent-encoding reaches the parser)
  });
  const samples = fc.sample(input, { numRuns: 4000, seed: 18 });
  const statuses = new Map<number, number>();
  let next = 0;
  const worker = async () => {
    for (;;) {
      const s = samples[next++];
      if (!s) return;
      const route = all[s.route]!;
      const qs = route.params.map((p, i) => {
        const v = s.values[i % s.values.length]!;
        return `${p}=${s.raw && !/[\s#&]/.test(v) ? v : encodeURIComponent(v.toWellFormed())}`;
      });
      const path = fill(route.path, s.path) + (qs.length ? `?${qs.join('&')}` : '');
      const init: RequestInit = { method: route.method };
      if (route.method === 'PUT') init.body = JSON.stringify({ status: s.values[0] });
      let r: Response;
      try {
        r = route.ui ? await ui(path, init) : await api(path, init);
      } catch (e) {
        // fetch refuses some URLs itself (e.g. a lone surrogate): not a server answer
        if (e instanceof TypeError && /URL|Invalid/.test(String(e.message))) continue;
        throw e;
      }
      const st = await check(r, `${route.method} ${path.slice(0, 300)}`, !route.ui);
      statuses.set(st, (statuses.get(st) ?? 0) + 1);
    }
  };
  await Promise.all([worker(), worker(), worker(), worker()]);
  const total = [...statuses.values()].reduce((a, b) => a + b, 0);
  expect(total).toBeGreaterThan(3900);
  // the generator reaches both refusals and answers
  expect(statuses.get(400) ?? 0).toBeGreaterThan(500);
  expect(statuses.get(200) ?? 0).toBeGreaterThan(100);
  expect(app.server.logs.filter((l) => l.includes('unhandled error'))).toEqual([]);
}, 300_000);
