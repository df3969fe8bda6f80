import { afterAll, beforeAll, expect, it } from 'vitest';
import { NO_RATE_LIMITS, startApp, type TestApp } from '../helpers/app.js';
import { cli, startServer } from '../helpers/server.js';

// When the grouping engine fails on an event, the event still gets an issue (the fallback's, shared
// by every event that fails so) and the failure is never silent: the worker logs it, /health counts
// it (in the database: the count is the same from any process, after a restart), and the event's
// `errors` list in the API says so. The failure here is a real one: a JSON fingerprint rule whose
// `text` is an object with a `toString` key, which the engine's rule reader cannot turn into a
// string. The API refuses such a rule now (tested below); a row stored before that is what the
// test writes directly.

const BAD_RULES = JSON.stringify([{ matchers: [['type', 'ValueError']], fingerprint: ['values'], text: { toString: 1 } }]);

let app: TestApp;
const ENV = () => ({ DATABASE_URL: app.db.url, ORGANIZATION_SLUG: 'crash-cache', ...NO_RATE_LIMITS });
let token: string;

async function api(path: string, init: RequestInit = {}): Promise<Response> {
  return fetch(app.server.url + path, { ...init, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' } });
}

async function send(id: string): Promise<void> {
  const event = { event_id: id, platform: 'python', level: 'error', exception: { values: [{ type: 'ValueError', value: `bad ${id}`, stacktrace: { frames: [{ module: 'app', function: 'run', in_app: true }] } }] } };
  const r = await fetch(`${app.server.url}/api/${app.projectId}/store/`, { method: 'POST', headers: { 'x-sentry-auth': app.auth, 'content-type': 'application/json' }, body: JSON.stringify(event) });
  expect(r.status).toBe(200);
}

async function digested(id: string): Promise<Record<string, unknown>> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const e = await api(`/api/0/projects/crash-cache/failing/events/${id}/`);
    if (e.status === 200) return (await e.json()) as Record<string, unknown>;
    if (Date.now() > deadline) throw new Error(`event ${id} not digested`);
    await new Promise((res) => setTimeout(res, 100));
  }
}

beforeAll(async () => {
  app = await startApp('failing', { ORGANIZATION_SLUG: 'crash-cache' });
  token = /^([0-9a-f]{64})$/m.exec(await cli(['token', 'create', '--name', 'g'], { DATABASE_URL: app.db.url }))![1]!;
});
afterAll(async () => {
  await app?.close();
});

it('the API refuses a JSON fingerprint rule the engine cannot read, naming the rule', async () => {
  const r = await api('/api/0/projects/crash-cache/failing/', { method: 'PUT', body: JSON.stringify({ fingerprintingRules: BAD_RULES }) });
  expect(r.status).toBe(400);
  expect(((await r.json()) as { detail: string }).detail).toBe('fingerprintingRules rule 1: "text" must be a string');
});

it('an event whose grouping fails is logged, counted in /health and marked on the event', async () => {
  const before = (await (await fetch(`${app.server.url}/health`)).json()) as { grouping_failed: number };
  expect(before.grouping_failed).toBe(0);
  await app.db.pool.query('UPDATE project SET fingerprinting_rules = $1 WHERE id = $2', [BAD_RULES, app.projectId]);
  // the digest reads project rules at most every 5 s (src/digest/project-rules.ts): a fresh server reads them now
  await app.server.stop();
  app.server = await startServer(ENV());

  const ids = ['a'.repeat(32), 'b'.repeat(32)];
  for (const id of ids) await send(id);
  const events = await Promise.all(ids.map(digested));
  for (const ev of events) {
    expect(ev.errors).toEqual([{ type: 'grouping_failed', message: 'Grouping failed: the event was put in the fallback issue', data: { reason: expect.stringMatching(/^TypeError: /) } }]);
    expect((ev.grouping as { contributingVariant: string; hint: string })).toMatchObject({ contributingVariant: 'fallback', hint: 'grouping failed' });
  }
  expect(events[0]!.groupID).toBe(events[1]!.groupID);

  const health = (await (await fetch(`${app.server.url}/health`)).json()) as { grouping_failed: number };
  expect(health.grouping_failed).toBe(2);
  const logged = app.server.logs.filter((l) => l.includes('grouping failed; event put in the fallback issue'));
  expect(logged.map((l) => (JSON.parse(l) as { event: string }).event).sort()).toEqual(ids);
  expect(JSON.parse(logged[0]!)).toMatchObject({ level: 'error', project: Number(app.projectId), error: expect.stringMatching(/^TypeError: /) });

  // the count lives in the database: another process reads the same total
  await app.server.stop();
  app.server = await startServer(ENV());
  expect(((await (await fetch(`${app.server.url}/health`)).json()) as { grouping_failed: number }).grouping_failed).toBe(2);

  // an event grouped normally adds nothing
  await app.db.pool.query(`UPDATE project SET fingerprinting_rules = '' WHERE id = $1`, [app.projectId]);
  await app.server.stop();
  app.server = await startServer(ENV());
  await send('c'.repeat(32));
  expect((await digested('c'.repeat(32))).errors).toEqual([]);
  expect(((await (await fetch(`${app.server.url}/health`)).json()) as { grouping_failed: number }).grouping_failed).toBe(2);
});
