import { afterAll, beforeAll, expect, it } from 'vitest';
import { startApp, type TestApp } from '../helpers/app.js';
import { cli } from '../helpers/server.js';

// A project's own grouping rules (Sentry's project settings "Fingerprint Rules" and "Stack Trace
// Rules"): set through PUT /api/0/projects/{org}/{project}/, checked line by line, and applied by the
// digest to events that arrive afterwards.

let app: TestApp;
let token: string;
let n = 0;

async function api(path: string, init: RequestInit = {}): Promise<Response> {
  return fetch(app.server.url + path, { ...init, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' } });
}

/** Sends a Python error of `type` whose innermost frame is `fn`, and waits until it is an issue's event. */
async function send(type: string, fn: string): Promise<string> {
  const id = (++n).toString(16).padStart(32, 'a');
  const event = {
    event_id: id, platform: 'python', level: 'error',
    exception: { values: [{ type, value: `failed ${n}`, stacktrace: { frames: [{ module: 'app.jobs', function: 'run', in_app: true }, { module: 'app.db', function: fn, in_app: true }] } }] },
  };
  const r = await fetch(`${app.server.url}/api/${app.projectId}/store/`, { method: 'POST', headers: { 'x-sentry-auth': app.auth, 'content-type': 'application/json' }, body: JSON.stringify(event) });
  expect(r.status).toBe(200);
  const deadline = Date.now() + 30_000;
  for (;;) {
    const e = await api(`/api/0/projects/crash-cache/grouping/events/${id}/`);
    if (e.status === 200) return ((await e.json()) as { groupID: string }).groupID;
    if (Date.now() > deadline) throw new Error(`event ${id} not digested`);
    await new Promise((res) => setTimeout(res, 100));
  }
}

beforeAll(async () => {
  app = await startApp('grouping', { ORGANIZATION_SLUG: 'crash-cache' });
  token = /^([0-9a-f]{64})$/m.exec(await cli(['token', 'create', '--name', 'rules'], { DATABASE_URL: app.db.url }))![1]!;
});
afterAll(async () => {
  await app?.close();
});

it('refuses rules the engine cannot read, naming the line', async () => {
  for (const [field, text, why] of [
    ['fingerprintingRules', 'error.type:DatabaseError -> database\nthis is not a rule', /fingerprintingRules line 2/],
    ['groupingEnhancements', 'stack.function:helper -group\nstack.nonsense:x +app', /groupingEnhancements line 2/],
    ['fingerprintingRules', 42, /must be a string/],
  ] as const) {
    const r = await api('/api/0/projects/crash-cache/grouping/', { method: 'PUT', body: JSON.stringify({ [field]: text }) });
    expect(r.status).toBe(400);
    expect(((await r.json()) as { detail: string }).detail).toMatch(why);
  }
  const p = (await (await api('/api/0/projects/crash-cache/grouping/')).json()) as Record<string, unknown>;
  expect(p).toMatchObject({ fingerprintingRules: '', groupingEnhancements: '', groupingConfig: 'newstyle:2023-01-11' });
});

it('refuses glob patterns over the complexity caps, in the text and in the JSON form (docs/SECURITY.md)', async () => {
  const many = '*a'.repeat(17) + '*b'; // 18 wildcards; the cap is 16
  for (const [field, text, why] of [
    ['fingerprintingRules', `message:"${many}" -> slow`, /fingerprintingRules line 1: message: pattern has more than 16 wildcards/],
    ['fingerprintingRules', JSON.stringify([{ matchers: [['message', many]], fingerprint: ['slow'] }]), /fingerprintingRules: message: pattern has more than 16 wildcards/],
    ['groupingEnhancements', `stack.function:helper -group\nstack.function:${'x'.repeat(300)} -app`, /groupingEnhancements line 2: function: pattern is longer than 256 characters/],
  ] as const) {
    const r = await api('/api/0/projects/crash-cache/grouping/', { method: 'PUT', body: JSON.stringify({ [field]: text }) });
    expect(r.status).toBe(400);
    expect(((await r.json()) as { detail: string }).detail).toMatch(why);
  }
  // at the caps: accepted, and cleared again for the tests below
  const ok = await api('/api/0/projects/crash-cache/grouping/', { method: 'PUT', body: JSON.stringify({ fingerprintingRules: `message:"${'*a'.repeat(16)}" -> slow` }) });
  expect(ok.status).toBe(200);
  expect((await api('/api/0/projects/crash-cache/grouping/', { method: 'PUT', body: JSON.stringify({ fingerprintingRules: '' }) })).status).toBe(200);
});

it('groups by the project fingerprint rules once they are set', async () => {
  // without rules: two database errors in different functions are two issues
  const a = await send('OperationalError', 'connect');
  const b = await send('OperationalError', 'query');
  expect(a).not.toBe(b);
  const rules = '# every database error is one issue\nerror.type:OperationalError -> database-errors';
  const r = await api('/api/0/projects/crash-cache/grouping/', { method: 'PUT', body: JSON.stringify({ fingerprintingRules: rules }) });
  expect(r.status).toBe(200);
  expect(await r.json()).toMatchObject({ fingerprintingRules: rules });
  // the digest reads rules at most every 5 s: wait until a new event lands in the rule's issue
  const deadline = Date.now() + 30_000;
  let c = await send('OperationalError', 'connect');
  while (c === a && Date.now() < deadline) {
    await new Promise((res) => setTimeout(res, 500));
    c = await send('OperationalError', 'connect');
  }
  const d = await send('OperationalError', 'migrate');
  expect(c).not.toBe(a);
  expect(d).toBe(c);
  const info = (await (await api(`/api/0/issues/${c}/grouping/info/`)).json()) as Record<string, { type?: string; values?: string[] }>;
  expect(JSON.stringify(info)).toContain('database-errors');
}, 90_000);

it('applies stack trace rules: a frame taken out of grouping no longer splits issues', async () => {
  await api('/api/0/projects/crash-cache/grouping/', { method: 'PUT', body: JSON.stringify({ fingerprintingRules: '', groupingEnhancements: 'module:app.db -group' }) });
  await new Promise((res) => setTimeout(res, 5500));
  const a = await send('TimeoutError', 'connect');
  const b = await send('TimeoutError', 'query');
  expect(a).toBe(b);
}, 60_000);
