import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshDatabase, type TestDatabase } from '../helpers/db.js';
import { cli, startServer, type RunningServer } from '../helpers/server.js';
import { PACKAGE_ROOT } from '../../src/paths.js';
import { until } from '../helpers/poll.js';

// End to end: the official @sentry/node SDK sends events to the running server, the digest worker
// turns them into issues, and the API (and the real sentry-cli) reads them back. Also the workflow:
// a new event on a resolved issue reopens it as a regression.

const run = promisify(execFile);
let db: TestDatabase;
let server: RunningServer;
let token: string;
let dsn: string;
let sent: { exceptionId: string; messageId: string };

async function api(path: string, init: RequestInit = {}): Promise<Response> {
  return fetch(server.url + path, { ...init, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...(init.headers ?? {}) } });
}

async function sendWithSdk(env: Record<string, string> = {}): Promise<{ exceptionId: string; messageId: string }> {
  const { stdout } = await run(process.execPath, [join(PACKAGE_ROOT, 'test', 'api', 'sdk-app.mjs')], { cwd: PACKAGE_ROOT, env: { ...process.env, DSN: dsn, ...env }, timeout: 30_000 });
  const out = JSON.parse(stdout.trim().split('\n').pop()!) as { exceptionId: string; messageId: string; flushed: boolean };
  expect(out.flushed).toBe(true);
  return out;
}

type Issue = { id: string; title: string; status: string; substatus: string | null; count: string; userCount: number; shortId: string; level: string };

beforeAll(async () => {
  db = await freshDatabase();
  const env = { DATABASE_URL: db.url, ORGANIZATION_SLUG: 'acme' };
  const out = await cli(['project', 'create', '--name', 'shop', '--platform', 'node', '--key', 'b'.repeat(32)], env);
  expect(out).toContain('slug shop');
  token = /^([0-9a-f]{64})$/m.exec(await cli(['token', 'create', '--name', 'e2e'], env))![1]!;
  server = await startServer({ ...env, LOG_LEVEL: process.env.API_TEST_LOGS ? 'debug' : 'info', RATE_LIMIT_GLOBAL_PER_SEC: '0', RATE_LIMIT_PER_IP_PER_SEC: '0', RATE_LIMIT_PER_PROJECT_PER_SEC: '0' });
  dsn = `http://${'b'.repeat(32)}@127.0.0.1:${server.port}/1`;
  sent = await sendWithSdk();
});
afterAll(async () => {
  if (process.env.API_TEST_LOGS) console.log(server?.logs.filter((l) => /"status":4|"level":"(warn|error)"/.test(l)).join('\n'));
  await server?.stop();
  await db?.drop();
});

describe('events from the real SDK, read through the API', () => {
  let issues: Issue[];

  it('lists the issues the digest made of them', async () => {
    issues = await until('two issues', async () => (await (await api('/api/0/projects/acme/shop/issues/')).json()) as Issue[], (l) => l.length >= 2);
    const byTitle = Object.fromEntries(issues.map((i) => [i.title, i]));
    expect(Object.keys(byTitle).sort()).toEqual(['TypeError: card declined for 42', 'inventory low']);
    expect(byTitle['TypeError: card declined for 42']).toMatchObject({ level: 'error', status: 'unresolved', count: '1', userCount: 1, shortId: expect.stringMatching(/^SHOP-[12]$/) });
    expect(byTitle['inventory low']!.level).toBe('warning');
    const found = (await (await api('/api/0/projects/acme/shop/issues/?query=' + encodeURIComponent('release:shop@1.0.0 checkout.step:payment card'))).json()) as Issue[];
    expect(found.map((i) => i.title)).toEqual(['TypeError: card declined for 42']);
    const byUser = (await (await api('/api/0/projects/acme/shop/issues/?query=' + encodeURIComponent('user.id:customer-7 level:error'))).json()) as Issue[];
    expect(byUser.map((i) => i.title)).toEqual(['TypeError: card declined for 42']);
  });

  it('shows the full event: entries with frames, breadcrumbs, tags, user, sdk, grouping', async () => {
    const issue = issues.find((i) => i.title.startsWith('TypeError'))!;
    const latest = (await (await api(`/api/0/issues/${issue.id}/events/latest/`)).json()) as Record<string, any>;
    expect(latest.eventID).toBe(sent.exceptionId);
    expect(latest.groupID).toBe(issue.id);
    expect(latest.title).toBe('TypeError: card declined for 42');
    const types = (latest.entries as { type: string }[]).map((e) => e.type);
    expect(types).toContain('exception');
    expect(types).toContain('breadcrumbs');
    const exc = latest.entries.find((e: { type: string }) => e.type === 'exception').data.values[0];
    expect(exc).toMatchObject({ type: 'TypeError', value: 'card declined for 42' });
    const fns = exc.stacktrace.frames.map((f: { function: string }) => f.function);
    expect(fns).toContain('chargeCustomerCard');
    const top = exc.stacktrace.frames[exc.stacktrace.frames.length - 1];
    expect(top).toMatchObject({ function: 'chargeCustomerCard', inApp: true, lineNo: expect.any(Number) });
    expect(top.context.some(([, line]: [number, string]) => line.includes('card declined'))).toBe(true);
    const crumbs = latest.entries.find((e: { type: string }) => e.type === 'breadcrumbs').data.values;
    expect(crumbs.some((b: { message: string }) => b.message === 'added 2 items')).toBe(true);
    const tags = Object.fromEntries((latest.tags as { key: string; value: string }[]).map((t) => [t.key, t.value]));
    expect(tags).toMatchObject({ release: 'shop@1.0.0', environment: 'production', 'checkout.step': 'payment', level: 'error' });
    expect(latest.user).toMatchObject({ id: 'customer-7', email: 'c7@example.com' });
    expect(latest.sdk.name).toBe('sentry.javascript.node');
    expect(latest.release).toMatchObject({ version: 'shop@1.0.0' });
    expect(latest.platform).toBe('node');
    expect(latest.fingerprints[0]).toMatch(/^[0-9a-f]{32}$/);
    expect(latest.grouping).toMatchObject({ config: 'newstyle:2023-01-11', primaryHash: latest.fingerprints[0] });
    expect(latest.previousEventID).toBeNull();
    expect(latest.nextEventID).toBeNull();
    expect(new Date(latest.dateCreated).getTime()).toBeGreaterThan(Date.now() - 600_000);

    const same = (await (await api(`/api/0/projects/acme/shop/events/${sent.exceptionId}/`)).json()) as Record<string, unknown>;
    expect(same.eventID).toBe(sent.exceptionId);
    expect((await (await api(`/api/0/organizations/acme/events/shop:${sent.exceptionId}/`)).json()).eventID).toBe(sent.exceptionId);
    expect((await (await api(`/api/0/organizations/acme/eventids/${sent.exceptionId}/`)).json())).toMatchObject({ projectSlug: 'shop', groupId: issue.id });
    const gi = (await (await api(`/api/0/projects/acme/shop/events/${sent.exceptionId}/grouping-info/`)).json()) as Record<string, { contributes: boolean; hash: string }>;
    expect(Object.values(gi).some((v) => v.contributes && v.hash === latest.fingerprints[0])).toBe(true);
    const hashes = (await (await api(`/api/0/issues/${issue.id}/hashes/`)).json()) as { id: string }[];
    expect(hashes[0]!.id).toBe(latest.fingerprints[0]);
    const list = (await (await api(`/api/0/issues/${issue.id}/events/`)).json()) as { eventID: string; tags: unknown[] }[];
    expect(list.map((e) => e.eventID)).toEqual([sent.exceptionId]);
    expect((await api(`/api/0/projects/acme/shop/events/${randomUUID()}/`)).status).toBe(404);
  });

  it('reopens a resolved issue as a regression when a new event arrives, with event navigation', async () => {
    const issue = issues.find((i) => i.title.startsWith('TypeError'))!;
    const r = await api(`/api/0/issues/${issue.id}/`, { method: 'PUT', body: JSON.stringify({ status: 'resolved' }) });
    expect(((await r.json()) as Issue).status).toBe('resolved');
    const second = await sendWithSdk({ ONLY_EXCEPTION: '1' });
    const reopened = await until('regression', async () => (await (await api(`/api/0/issues/${issue.id}/`)).json()) as Issue, (i) => i.status === 'unresolved');
    expect(reopened).toMatchObject({ status: 'unresolved', substatus: 'regressed', count: '2' });
    expect(((await (await api('/api/0/projects/acme/shop/issues/?query=is:regressed')).json()) as Issue[]).map((i) => i.id)).toEqual([issue.id]);
    const latest = (await (await api(`/api/0/issues/${issue.id}/events/latest/`)).json()) as { eventID: string; previousEventID: string | null; nextEventID: string | null };
    expect(latest.eventID).toBe(second.exceptionId);
    expect(latest.previousEventID).toBe(sent.exceptionId);
    const oldest = (await (await api(`/api/0/issues/${issue.id}/events/oldest/`)).json()) as { eventID: string; nextEventID: string | null };
    expect(oldest).toMatchObject({ eventID: sent.exceptionId, nextEventID: second.exceptionId });
  });

  it('gives release health from the sessions the SDK sent', async () => {
    // Four sessions of shop@2.0: two exited cleanly, one errored, one crashed, by four users.
    const now = new Date().toISOString();
    const items = (['exited', 'exited', 'errored', 'crashed'] as const).map((status, i) =>
      JSON.stringify({ type: 'session' }) + '\n' + JSON.stringify({ sid: randomUUID(), did: `user-${i}`, init: true, started: now, timestamp: now, status: status === 'errored' ? 'exited' : status, errors: status === 'exited' ? 0 : 1, attrs: { release: 'shop@2.0', environment: 'production' } }),
    );
    const body = JSON.stringify({ sent_at: now }) + '\n' + items.join('\n') + '\n';
    const res = await fetch(`${server.url}/api/1/envelope/?sentry_key=${'b'.repeat(32)}&sentry_version=7`, { method: 'POST', body, headers: { 'content-type': 'application/x-sentry-envelope' } });
    expect(res.status).toBe(200);
    type Rel = { version: string; projects: { slug: string; healthData: Record<string, number | null> }[] };
    const rels = await until('health of shop@2.0', async () => (await (await api('/api/0/organizations/acme/releases/?health=1')).json()) as Rel[], (l) => !!l.find((r) => r.version === 'shop@2.0')?.projects[0]?.healthData.totalSessions);
    const h = rels.find((r) => r.version === 'shop@2.0')!.projects[0]!.healthData;
    expect(h).toMatchObject({ totalSessions: 4, sessionsCrashed: 1, sessionsErrored: 1, crashFreeSessions: 75, totalUsers: 4, crashFreeUsers: 75 });
    expect(rels.map((r) => r.version).sort()).toEqual(['shop@1.0.0', 'shop@2.0']);
    const plain = (await (await api('/api/0/projects/acme/shop/releases/')).json()) as { version: string; projects: Record<string, unknown>[]; lastEvent: string | null }[];
    expect(plain.find((r) => r.version === 'shop@1.0.0')!.lastEvent).not.toBeNull();
    expect(plain[0]!.projects[0]!.healthData).toBeUndefined();
    const project = (await (await api('/api/0/projects/acme/shop/')).json()) as { firstEvent: string | null; hasSessions: boolean };
    expect(project.hasSessions).toBe(true);
    expect(new Date(project.firstEvent!).getTime()).toBeGreaterThan(Date.now() - 600_000);
  });
});

describe('the real sentry-cli against the server', () => {
  const sentryCli = (args: string[]) =>
    run(join(PACKAGE_ROOT, 'node_modules', '.bin', 'sentry-cli'), args, {
      env: { ...process.env, SENTRY_URL: server.url, SENTRY_AUTH_TOKEN: token, SENTRY_ORG: 'acme', SENTRY_PROJECT: 'shop', SENTRY_LOG_LEVEL: 'warn', SENTRY_DISABLE_UPDATE_CHECK: '1' },
      timeout: 30_000,
    });

  it('lists projects', async () => {
    const { stdout } = await sentryCli(['projects', 'list']);
    expect(stdout).toMatch(/\bshop\b/);
    expect(stdout).toMatch(/\bacme\b/);
  });

  it('lists issues', async () => {
    const { stdout } = await sentryCli(['issues', 'list']);
    expect(stdout).toContain('TypeError: card declined for 42');
    expect(stdout).toContain('inventory low');
    expect(stdout).toMatch(/SHOP-1/);
  });

  it('resolves an issue in bulk and lists by status', async () => {
    const list = (await (await api('/api/0/projects/acme/shop/issues/')).json()) as Issue[];
    const msg = list.find((i) => i.title === 'inventory low')!;
    await sentryCli(['issues', 'resolve', '-i', msg.id]);
    expect(((await (await api(`/api/0/issues/${msg.id}/`)).json()) as Issue).status).toBe('resolved');
    const { stdout } = await sentryCli(['issues', 'list', '--query', 'is:resolved']);
    expect(stdout).toContain('inventory low');
    expect(stdout).not.toContain('card declined');
  });

  it('lists events', async () => {
    const { stdout } = await sentryCli(['events', 'list']);
    // sentry-cli prints event ids as hyphenated UUIDs
    expect(stdout).toContain(sent.exceptionId.replace(/^(.{8})(.{4})(.{4})(.{4})(.{12})$/, '$1-$2-$3-$4-$5'));
    expect(stdout).toContain('TypeError: card declined for 42');
  });

  it('answers info and releases list', async () => {
    const info = await sentryCli(['info']);
    expect(info.stdout).toMatch(/acme|Organization/);
    const rel = await sentryCli(['releases', 'list']);
    expect(rel.stdout).toContain('shop@1.0.0');
    const one = await sentryCli(['releases', 'info', 'shop@1.0.0']);
    expect(one.stdout).toContain('shop@1.0.0');
    await expect(sentryCli(['releases', 'info', 'nope@9'])).rejects.toThrow();
  });
});
