import { afterAll, beforeAll, beforeEach, expect, test, vi } from 'vitest';
import { freshDatabase, type TestDatabase } from '../helpers/db.js';
import { createProject } from '../../src/storage/projects.js';
import { DimCache } from '../../src/digest/dims.js';
import { setIssueStatus } from '../../src/api/queries/issues.js';
import { loadConfig } from '../../src/config/index.js';
import { addAlertRule, checkWebhookUrl, parseKinds } from '../../src/alerts/rules.js';
import { claimAlerts, LEASE_MARGIN_MS, listDeliveries } from '../../src/alerts/deliveries.js';
import { deliverAlert } from '../../src/alerts/sender.js';
import { digestAll, enqueue } from '../digest/archive.js';
import { startReceiver, type Receiver } from './receiver.js';

vi.setConfig({ testTimeout: 30_000, hookTimeout: 60_000 });

// Alerts on real PostgreSQL and a real local webhook: the digest queues them in its own batch
// transaction (new issue, regression, ignored issue back), the sender's functions POST them, retry
// failures with backoff and keep the last error.

let db: TestDatabase;
let receiver: Receiver;
let withHook: number; // project with a webhook
let without: number; // project without
const cache = new DimCache();
const config = loadConfig({ PUBLIC_URL: 'http://cc.example:8000', ALERT_RETRY_SECS: '0', ALERT_TIMEOUT_MS: '300', OUTBOUND_ALLOW_INTERNAL: '127.0.0.1' }, '/nonexistent');
let n = 0;

function event(type: string, message = 'boom') {
  n++;
  return {
    kind: 'store' as const,
    body: Buffer.from(JSON.stringify({
      event_id: n.toString(16).padStart(32, '0'), timestamp: new Date().toISOString(), platform: 'python', level: 'error',
      exception: { values: [{ type, value: message, stacktrace: { frames: [{ module: 'app.views', function: 'checkout', in_app: true }] } }] },
    })),
  };
}
const digest = (batchSize = 100) => digestAll(db.pool, cache, batchSize);
/** One pass of a sender: claims what is due and delivers it. */
async function sendDue(cfg = config): Promise<number> {
  const rows = await claimAlerts(db.pool, 10, cfg.alertTimeoutMs + LEASE_MARGIN_MS);
  for (const a of rows) await deliverAlert(db.pool, cfg, a);
  return rows.length;
}
const outbox = async (projectId: number) =>
  (await db.pool.query('SELECT id::int, issue_id::int, kind, status, attempts, last_status, last_error, extract(epoch FROM run_after - now())::float8 AS wait FROM alert_outbox WHERE project_id = $1 ORDER BY id', [projectId])).rows;
const issueId = async (projectId: number, type: string): Promise<number> =>
  (await db.pool.query('SELECT id::int FROM issue WHERE project_id = $1 AND title LIKE $2', [projectId, `${type}:%`])).rows[0].id;

beforeAll(async () => {
  db = await freshDatabase();
  receiver = await startReceiver();
  withHook = (await createProject(db.pool, { name: 'Shop Backend' })).project.id;
  without = (await createProject(db.pool, { name: 'quiet' })).project.id;
  await addAlertRule(db.pool, withHook, receiver.url);
});
beforeEach(async () => {
  receiver.received.length = 0;
  receiver.respond = () => 200;
  await db.pool.query('DELETE FROM alert_outbox');
});
afterAll(async () => {
  await receiver?.close();
  await db?.drop();
});

test('a new issue: exactly one "new" alert, POSTed with what a human and a chat need', async () => {
  // three events of one new issue in one batch, one of an existing issue later: still one alert
  await enqueue(db.pool, withHook, [event('KeyError', "'cart'"), event('KeyError', "'cart'"), event('KeyError', "'cart'")]);
  await digest();
  await enqueue(db.pool, withHook, [event('KeyError', "'cart'")]);
  await digest();
  const id = await issueId(withHook, 'KeyError');
  expect(await outbox(withHook)).toMatchObject([{ issue_id: id, kind: 'new', status: 'pending', attempts: 0 }]);

  expect(await sendDue()).toBe(1);
  expect(await sendDue()).toBe(0);
  expect(receiver.received).toHaveLength(1);
  const { headers, body } = receiver.received[0]!;
  expect(headers['user-agent']).toBe('crash-cache');
  expect(headers['content-type']).toBe('application/json');
  expect(body).toMatchObject({
    kind: 'new',
    project: { id: String(withHook), slug: 'shop-backend', name: 'Shop Backend' },
    issue: {
      id: String(id), short_id: 'SHOP-BACKEND-1', title: "KeyError: 'cart'", culprit: 'app.views in checkout', level: 'error',
      platform: 'python', status: 'unresolved', substatus: 'new', count: 4, user_count: 0, url: `http://cc.example:8000/issues/${id}`,
    },
  });
  expect(Date.parse(body.issue.first_seen)).toBeLessThanOrEqual(Date.parse(body.issue.last_seen));
  expect(body.text).toBe(`[shop-backend] New issue SHOP-BACKEND-1: KeyError: 'cart' in app.views in checkout (error, 4 events) http://cc.example:8000/issues/${id}`);
  expect(headers['x-crash-cache-delivery']).toBe(body.alert.id);
  expect(await outbox(withHook)).toMatchObject([{ kind: 'new', status: 'delivered', attempts: 1, last_status: 200, last_error: null }]);
});

test('a project without webhooks gets no outbox rows', async () => {
  await enqueue(db.pool, without, [event('QuietError'), event('OtherQuietError')]);
  await digest();
  const id = await issueId(without, 'QuietError');
  await setIssueStatus(db.pool, [id], 'resolved', null);
  await enqueue(db.pool, without, [event('QuietError')]);
  await digest();
  expect((await db.pool.query('SELECT status, substatus FROM issue WHERE id = $1', [id])).rows[0]).toEqual({ status: 'unresolved', substatus: 'regressed' });
  expect((await db.pool.query('SELECT count(*)::int AS n FROM alert_outbox')).rows[0].n).toBe(0);
});

test('a resolved issue with a new event: one "regression", also when the change is seen by two batches', async () => {
  await enqueue(db.pool, withHook, [event('ZeroDivisionError')]);
  await digest();
  const id = await issueId(withHook, 'ZeroDivisionError');
  await setIssueStatus(db.pool, [id], 'resolved', null);
  await db.pool.query('DELETE FROM alert_outbox');
  // two payloads of one ingest commit (same receive time) digested in two batches: the second batch
  // finds the issue already reopened at that very time
  await enqueue(db.pool, withHook, [event('ZeroDivisionError'), event('ZeroDivisionError')]);
  await digest(1);
  expect(await outbox(withHook)).toMatchObject([{ issue_id: id, kind: 'regression', status: 'pending' }]);
  await sendDue();
  expect(receiver.received.map((r) => [r.body.kind, r.body.issue.status, r.body.issue.substatus])).toEqual([['regression', 'unresolved', 'regressed']]);
  expect(receiver.received[0]!.body.text).toMatch(/^\[shop-backend\] Regression SHOP-BACKEND-\d+: ZeroDivisionError: boom /);

  // resolved and regressed again: a second change, a second alert
  await setIssueStatus(db.pool, [id], 'resolved', null);
  await enqueue(db.pool, withHook, [event('ZeroDivisionError')]);
  await digest();
  expect((await outbox(withHook)).map((r) => r.kind)).toEqual(['regression', 'regression']);
});

test('an ignored issue whose snooze condition is met: one "escalating"', async () => {
  await enqueue(db.pool, withHook, [event('TimeoutError')]);
  await digest();
  const id = await issueId(withHook, 'TimeoutError');
  await setIssueStatus(db.pool, [id], 'ignored', null, { until: null, count: 2, windowMinutes: null, users: null, details: { ignoreCount: 2 } });
  await db.pool.query('DELETE FROM alert_outbox');
  await enqueue(db.pool, withHook, [event('TimeoutError')]);
  await digest();
  expect(await outbox(withHook)).toEqual([]);
  await enqueue(db.pool, withHook, [event('TimeoutError'), event('TimeoutError')]);
  await digest();
  expect(await outbox(withHook)).toMatchObject([{ issue_id: id, kind: 'escalating' }]);
  await sendDue();
  expect(receiver.received[0]!.body).toMatchObject({ kind: 'escalating', issue: { status: 'unresolved', substatus: 'escalating' } });
});

test('the webhook answers 500: kept with its error, retried, then delivered once', async () => {
  receiver.respond = (_r, i) => (i === 0 ? 500 : 200);
  await enqueue(db.pool, withHook, [event('RetryError')]);
  await digest();
  await sendDue();
  expect(await outbox(withHook)).toMatchObject([{ status: 'pending', attempts: 1, last_status: 500, last_error: 'HTTP 500 Internal Server Error' }]);
  await sendDue(); // ALERT_RETRY_SECS=0: due again at once
  await sendDue();
  expect(receiver.received).toHaveLength(2);
  expect(receiver.received[0]!.headers['x-crash-cache-delivery']).toBe(receiver.received[1]!.headers['x-crash-cache-delivery']);
  // delivered, with the error of the failed attempt still visible
  expect(await outbox(withHook)).toMatchObject([{ status: 'delivered', attempts: 2, last_status: 200, last_error: 'HTTP 500 Internal Server Error' }]);
  const [d] = await listDeliveries(db.pool, { projectId: withHook });
  expect(d).toMatchObject({ kind: 'new', status: 'delivered', attempts: 2, target: receiver.url.replace(/\/hook$/, '/…') });
  // the receiver's body ("receiver says no") is neither stored nor shown
  expect(JSON.stringify(await db.pool.query('SELECT * FROM alert_outbox'))).not.toContain('receiver says no');
});

test('failures back off (retry × 5^(attempt-1)) and are given up after ALERT_MAX_ATTEMPTS', async () => {
  const slow = loadConfig({ ALERT_RETRY_SECS: '60', ALERT_MAX_ATTEMPTS: '2', ALERT_TIMEOUT_MS: '300', OUTBOUND_ALLOW_INTERNAL: '127.0.0.1' }, '/nonexistent');
  receiver.respond = () => 503;
  await enqueue(db.pool, withHook, [event('DownError')]);
  await digest();
  await sendDue(slow);
  const [r] = await outbox(withHook);
  expect(r).toMatchObject({ status: 'pending', attempts: 1, last_status: 503 });
  expect(r.wait).toBeGreaterThan(55);
  expect(r.wait).toBeLessThanOrEqual(60);
  expect(await sendDue(slow)).toBe(0); // not due yet
  await db.pool.query('UPDATE alert_outbox SET run_after = now()');
  await sendDue(slow);
  expect(await outbox(withHook)).toMatchObject([{ status: 'failed', attempts: 2, last_error: 'HTTP 503 Service Unavailable' }]);
  expect(await sendDue(slow)).toBe(0);
});

test('a webhook that hangs: the timeout is the recorded error', async () => {
  receiver.respond = () => 'hang';
  await enqueue(db.pool, withHook, [event('HangError')]);
  await digest();
  const t0 = Date.now();
  await sendDue();
  expect(Date.now() - t0).toBeLessThan(10_000);
  expect(await outbox(withHook)).toMatchObject([{ status: 'pending', attempts: 1, last_status: null, last_error: 'timed out after 300 ms (ALERT_TIMEOUT_MS)' }]);
});

test('a rule gets only the kinds it asked for; webhook URLs are http or https', async () => {
  const other = (await createProject(db.pool, { name: 'regressions only' })).project.id;
  await addAlertRule(db.pool, other, receiver.url, parseKinds('regression'));
  await enqueue(db.pool, other, [event('OnlyRegressions')]);
  await digest();
  expect(await outbox(other)).toEqual([]);
  expect(() => checkWebhookUrl('ftp://example.com/x')).toThrow(/http or https/);
  expect(() => checkWebhookUrl('not a url')).toThrow(/not a URL/);
  expect(checkWebhookUrl('https://hooks.slack.com/services/T/B/x')).toBe('https://hooks.slack.com/services/T/B/x');
  expect(() => parseKinds('new,bogus')).toThrow(/unknown alert kind "bogus"/);
  await expect(addAlertRule(db.pool, other, 'file:///etc/passwd')).rejects.toThrow(/http or https/);
});
