import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, test, vi } from 'vitest';
import { startApp, type TestApp } from '../helpers/app.js';
import { cli } from '../helpers/server.js';
import { PACKAGE_ROOT } from '../../src/paths.js';
import { until } from '../digest/worker-process.js';
import { startReceiver, type Receiver } from './receiver.js';

vi.setConfig({ testTimeout: 60_000, hookTimeout: 120_000 });

// End to end: a webhook added with the CLI, a real event from the official @sentry/node SDK through
// the running server's ingest and digest, and the server's own alert sender POSTing to a real local
// receiver. Then a regression, the CLI's test notification, the deliveries list and removal.

const run = promisify(execFile);
let app: TestApp;
let receiver: Receiver;
let env: Record<string, string>;

const q = async (sql: string, values: unknown[] = []) => (await app.db.pool.query(sql, values)).rows;

beforeAll(async () => {
  receiver = await startReceiver();
  app = await startApp('Checkout', { PUBLIC_URL: 'http://crash.example', ALERT_RETRY_SECS: '0', OUTBOUND_ALLOW_INTERNAL: '127.0.0.1' });
  env = { DATABASE_URL: app.db.url, PUBLIC_URL: 'http://crash.example', OUTBOUND_ALLOW_INTERNAL: '127.0.0.1' };
});
afterAll(async () => {
  await app?.close();
  await receiver?.close();
});

async function sendWithSdk(): Promise<void> {
  const dsn = `http://${app.key}@127.0.0.1:${app.server.port}/${app.projectId}`;
  const { stdout } = await run(process.execPath, [join(PACKAGE_ROOT, 'test', 'api', 'sdk-app.mjs')], { cwd: PACKAGE_ROOT, env: { ...process.env, DSN: dsn, ONLY_EXCEPTION: '1' }, timeout: 30_000 });
  expect(JSON.parse(stdout.trim().split('\n').pop()!).flushed).toBe(true);
}

test('crash-cache-cli alert add / list validate and store the webhook', async () => {
  await expect(cli(['alert', 'add', String(app.projectId), '--webhook', 'ftp://example.com/hook'], env)).rejects.toThrow(/exited with 2.*http or https/s);
  await expect(cli(['alert', 'add', String(app.projectId), '--webhook', receiver.url, '--kinds', 'new,sometimes'], env)).rejects.toThrow(/unknown alert kind "sometimes"/);
  expect(await cli(['alert', 'add', 'checkout', '--webhook', receiver.url, '--kinds', 'new,regression', '--interval', '0'], env))
    .toMatch(/^Alert \d+ added: project checkout, webhook → http:\/\/127\.0\.0\.1:\d+\/… \(new, regression; at most once per issue every 0 min\)/);
  const list = await cli(['alert', 'list'], env);
  expect(list).toMatch(/\tcheckout\twebhook\thttp:\/\/127\.0\.0\.1:\d+\/…\t-\tnew, regression; /);
  expect(list).not.toContain(receiver.url);
});

test('a new issue from a real SDK event: one "new" notification; a second event of it: none', async () => {
  await sendWithSdk();
  await until(async () => receiver.received.length >= 1, 30_000, 'the webhook POST');
  const [{ id }] = await q('SELECT id::int FROM issue WHERE project_id = $1', [app.projectId]);
  const { body, headers } = receiver.received[0]!;
  expect(headers['user-agent']).toBe('crash-cache');
  expect(body).toMatchObject({
    kind: 'new',
    project: { slug: 'checkout', name: 'Checkout' },
    issue: { id: String(id), short_id: 'CHECKOUT-1', title: 'TypeError: card declined for 42', level: 'error', status: 'unresolved', substatus: 'new', url: `http://crash.example/issues/${id}` },
  });
  expect(body.text).toMatch(/^\[checkout\] New issue CHECKOUT-1: TypeError: card declined for 42 in .*chargeCustomerCard.* http:\/\/crash\.example\/issues\/\d+$/);
  await until(async () => (await q("SELECT status FROM alert_outbox"))[0]?.status === 'delivered', 30_000, 'the delivery to be recorded');

  await sendWithSdk();
  await until(async () => (await q('SELECT event_count::int AS n FROM issue WHERE id = $1', [id]))[0].n === 2, 30_000, 'the second event');
  expect(await q('SELECT kind, status FROM alert_outbox')).toEqual([{ kind: 'new', status: 'delivered' }]);
  expect(receiver.received).toHaveLength(1);
});

test('the issue resolved, then a new event: one "regression"', async () => {
  const [{ id }] = await q('SELECT id::int FROM issue WHERE project_id = $1', [app.projectId]);
  await q("UPDATE issue SET status = 'resolved', substatus = NULL, resolved_at = now(), status_changed_at = now() WHERE id = $1", [id]);
  await sendWithSdk();
  await until(async () => receiver.received.length >= 2, 30_000, 'the regression POST');
  expect(receiver.received[1]!.body).toMatchObject({ kind: 'regression', issue: { id: String(id), status: 'unresolved', substatus: 'regressed', count: 3 } });
});

test('alert test sends a test notification now; alert deliveries lists them all; alert remove', async () => {
  const [{ id: ruleId }] = await q('SELECT id::int FROM alert_rule');
  expect(await cli(['alert', 'test', String(ruleId)], env)).toBe('Test notification delivered (HTTP 200).\n');
  expect(receiver.received.at(-1)!.body).toMatchObject({ kind: 'test', project: { slug: 'checkout' }, issue: null });
  expect(receiver.received.at(-1)!.body.text).toBe('[checkout] Test notification from crash-cache (http://crash.example)');

  receiver.respond = () => 404;
  await expect(cli(['alert', 'test', String(ruleId)], env)).rejects.toThrow(/Test notification failed: HTTP 404 Not Found/);
  const out = await cli(['alert', 'deliveries', '--project', 'checkout'], env);
  const lines = out.trim().split('\n').slice(1).map((l) => l.split('\t'));
  expect(lines.map((l) => [l[3], l[7], l[8], l[10]])).toEqual([
    ['test', 'failed', '1', 'HTTP 404 Not Found'],
    ['test', 'delivered', '1', '-'],
    ['regression', 'delivered', '1', '-'],
    ['new', 'delivered', '1', '-'],
  ]);
  expect(await cli(['alert', 'remove', String(ruleId)], env)).toBe(`Alert ${ruleId} removed.\n`);
  expect(await cli(['alert', 'list'], env)).toMatch(/^No alerts\./);
  expect(await q('SELECT count(*)::int AS n FROM alert_outbox')).toEqual([{ n: 0 }]);
});

test('the API manages webhooks as Sentry-style service hooks (/projects/{org}/{project}/hooks/)', async () => {
  const token = /^([0-9a-f]{64})$/m.exec(await cli(['token', 'create', '--name', 'hooks'], env))![1]!;
  const api = (path: string, method = 'GET', body?: unknown) =>
    fetch(`${app.server.url}/api/0/projects/crash-cache/checkout/hooks/${path}`, { method, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
  const bad = await api('', 'POST', { url: 'javascript:alert(1)' });
  expect([bad.status, await bad.json()]).toEqual([400, { detail: 'a webhook must be http or https, got javascript' }]);
  expect((await api('', 'POST', { url: receiver.url, events: ['new', 'never'] })).status).toBe(400);

  const created = await api('', 'POST', { url: receiver.url, events: ['escalating'] });
  expect(created.status).toBe(201);
  const hook = await created.json() as { id: string };
  // shown back without its secret part
  const shown = receiver.url.replace(/\/hook$/, '/…');
  expect(hook).toMatchObject({ url: shown, status: 'active', events: ['escalating'] });
  expect(await (await api('')).json()).toEqual([hook]);
  const put = await api(`${hook.id}/`, 'PUT', { events: ['new', 'regression'] });
  expect(await put.json()).toMatchObject({ id: hook.id, url: shown, events: ['new', 'regression'] });
  expect(await cli(['alert', 'list'], env)).toContain(`${hook.id}\tcheckout\twebhook\t${shown}\t-\tnew, regression; at most once per issue every 0 min`);
  expect((await api(`${hook.id}/`, 'DELETE')).status).toBe(204);
  expect((await api(`${hook.id}/`)).status).toBe(404);
  expect((await fetch(`${app.server.url}/api/0/projects/crash-cache/checkout/hooks/`)).status).toBe(401);
});

test('the API manages rules in Sentry\'s issue-alert shapes (/projects/{org}/{project}/rules/), with a test send and deliveries', async () => {
  receiver.respond = () => 200;
  const token = /^([0-9a-f]{64})$/m.exec(await cli(['token', 'create', '--name', 'rules'], env))![1]!;
  const api = (path: string, method = 'GET', body?: unknown) =>
    fetch(`${app.server.url}/api/0/projects/crash-cache/checkout/rules/${path}`, { method, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
  const rule = {
    name: 'checkout storm', actionMatch: 'any', filterMatch: 'all', frequency: 60, environment: 'production',
    conditions: [{ id: 'sentry.rules.conditions.first_seen_event.FirstSeenEventCondition' },
      { id: 'sentry.rules.conditions.event_frequency.EventFrequencyCondition', value: 100, interval: '1h', comparisonType: 'count' }],
    filters: [{ id: 'sentry.rules.filters.level.LevelFilter', match: 'gte', level: '40' },
      { id: 'sentry.rules.filters.tagged_event.TaggedEventFilter', key: 'region', match: 'eq', value: 'eu' }],
    actions: [{ id: 'sentry.integrations.slack.notify_action.SlackNotifyServiceAction', webhookUrl: `${receiver.url}/T0/B0/secret-part` }],
  };
  const created = await api('', 'POST', rule);
  expect(created.status).toBe(201);
  const body = await created.json() as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  expect(body).toMatchObject({
    name: 'checkout storm', actionMatch: 'any', filterMatch: 'all', frequency: 60, environment: 'production', projects: ['checkout'], status: 'active',
    conditions: rule.conditions, filters: rule.filters,
    actions: [{ id: 'sentry.integrations.slack.notify_action.SlackNotifyServiceAction', webhookUrl: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+\/hook\/…$/) }],
  });
  expect(JSON.stringify(body)).not.toContain('secret-part');
  expect(await (await api(`${body.id}/`)).json()).toEqual(body);

  const tested = await api(`${body.id}/test/`, 'POST');
  expect(await tested.json()).toMatchObject({ ok: true, status: 200, answer: 'HTTP 200' });
  expect(receiver.received.at(-1)!.path).toBe('/hook/T0/B0/secret-part');
  expect(receiver.received.at(-1)!.body.blocks[0].type).toBe('header');
  expect(await (await api(`${body.id}/deliveries/`)).json()).toMatchObject([{ kind: 'test', channel: 'slack', status: 'delivered', attempts: 1, lastStatus: 200, lastError: null }]);

  // a PUT without webhookUrl keeps the stored one (it is never shown back to be re-sent)
  const put = await api(`${body.id}/`, 'PUT', { ...rule, actions: [{ id: rule.actions[0]!.id }], frequency: 5 });
  expect(await put.json()).toMatchObject({ frequency: 5 });
  expect((await (await api(`${body.id}/test/`, 'POST')).json()).ok).toBe(true);

  for (const [bad, detail] of [
    [{ ...rule, conditions: [{ id: 'sentry.rules.conditions.nope' }] }, /unknown condition "sentry\.rules\.conditions\.nope"/],
    [{ ...rule, conditions: [{ id: rule.conditions[1]!.id, value: 5, interval: '2y' }] }, /interval "2y" is not/],
    [{ ...rule, actions: [{ id: 'sentry.mail.actions.NotifyEmailAction', targetType: 'Addresses', targetIdentifier: 'nope' }] }, /not an e-mail address: "nope"/],
    [{ ...rule, actions: [{ id: rule.actions[0]!.id, webhookUrl: 'gopher://x/' }] }, /http or https/],
    [{ ...rule, frequency: 999999 }, /action interval \(minutes\) must be a whole number from 0 to 43200/],
    [{ ...rule, actions: [] }, /actions must be a non-empty list/],
  ] as const) {
    const r = await api('', 'POST', bad);
    expect([r.status, (await r.json() as { detail: string }).detail]).toEqual([400, expect.stringMatching(detail)]);
  }
  expect((await api(`${body.id}/`, 'DELETE')).status).toBe(202);
  expect((await api(`${body.id}/`)).status).toBe(404);
});

test('crash-cache-cli alert add --email with rule options; the list says when it fires', async () => {
  const out = await cli(['alert', 'add', 'checkout', '--email', 'Dev@Example.com,members', '--frequency', '100/60', '--level', 'error', '--env', 'production', '--name', 'storm'], env);
  expect(out).toMatch(/^Alert \d+ added: project checkout, email → dev@example\.com, project members \(more than 100 events in 60 min if level ≥ error, environment=production; at most once per issue every 30 min\)\n$/);
  await expect(cli(['alert', 'add', 'checkout', '--email', 'dev@example.com', '--frequency', 'lots'], env)).rejects.toThrow(/--frequency needs COUNT\/MINUTES/);
  await expect(cli(['alert', 'add', 'checkout', '--email', 'a@b.c', '--slack', 'https://hooks.slack.com/x'], env)).rejects.toThrow(/needs one of --email/);
  await expect(cli(['alert', 'add', 'checkout', '--teams', 'https://example.com/x', '--interval', '-1'], env)).rejects.toThrow(/action interval/);
});
