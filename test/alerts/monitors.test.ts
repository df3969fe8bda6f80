import { afterAll, beforeAll, expect, test, vi } from 'vitest';
import { freshDatabase, type TestDatabase } from '../helpers/db.js';
import { createProject } from '../../src/storage/projects.js';
import { DimCache } from '../../src/digest/dims.js';
import { loadConfig } from '../../src/config/index.js';
import { addRule } from '../../src/alerts/rules.js';
import { claimAlerts, LEASE_MARGIN_MS } from '../../src/alerts/deliveries.js';
import { deliverAlert } from '../../src/alerts/sender.js';
import { checkMonitors, listIncidents } from '../../src/alerts/monitors.js';
import { digestAll, enqueue } from '../digest/archive.js';
import { startReceiver, type Receiver } from './receiver.js';

vi.setConfig({ testTimeout: 30_000, hookTimeout: 60_000 });

// Cron monitors alert through the rules' channels once per incident: a missed check-in, a failed one and
// one in progress past max_runtime each open one incident and one notification, however often the
// monitors are looked at; an ok check-in closes it. Check-ins go through the digest as SDKs send them;
// "later" is passed to the check as a time, not waited for.

let db: TestDatabase;
let receiver: Receiver;
let pid: number;
const cache = new DimCache();
const config = loadConfig({ PUBLIC_URL: 'http://cc.example', ALERT_RETRY_SECS: '0', OUTBOUND_ALLOW_INTERNAL: '127.0.0.1' }, '/nonexistent');
const MIN = 60_000;

async function checkIn(body: Record<string, unknown>): Promise<void> {
  await enqueue(db.pool, pid, [{ kind: 'envelope', body: Buffer.from(`{}\n{"type":"check_in"}\n${JSON.stringify(body)}\n`) }]);
  await digestAll(db.pool, cache);
}
const outbox = async () => (await db.pool.query("SELECT kind, detail, status FROM alert_outbox WHERE project_id = $1 ORDER BY id", [pid])).rows;
const schedule = { schedule: { type: 'interval', value: 10, unit: 'minute' }, checkin_margin: 1, max_runtime: 5 };

beforeAll(async () => {
  db = await freshDatabase();
  receiver = await startReceiver();
  pid = (await createProject(db.pool, { name: 'Jobs' })).project.id;
  await addRule(db.pool, pid, { channel: 'webhook', webhookUrl: receiver.url, kinds: ['monitor'] });
});
afterAll(async () => {
  await receiver?.close();
  await db?.drop();
});

test('a missed check-in alerts once, however often it is checked; an ok check-in ends the incident', async () => {
  await checkIn({ check_in_id: 'a1'.repeat(16), monitor_slug: 'nightly', status: 'ok', environment: 'production', monitor_config: schedule });
  expect(await checkMonitors(db.pool)).toEqual({ opened: 0, resolved: 0 });
  expect(await outbox()).toEqual([]);
  // 12 minutes later the check-in due after 10 (+1 margin) has not come
  const later = Date.now() + 12 * MIN;
  expect(await checkMonitors(db.pool, later)).toEqual({ opened: 1, resolved: 0 });
  expect(await checkMonitors(db.pool, later + MIN)).toEqual({ opened: 0, resolved: 0 });
  expect(await checkMonitors(db.pool, later + 60 * MIN)).toEqual({ opened: 0, resolved: 0 });
  expect(await outbox()).toMatchObject([{ kind: 'monitor', detail: expect.stringMatching(/^cron monitor nightly \(production\) missed its check-in expected by /), status: 'pending' }]);

  const rows = await claimAlerts(db.pool, 10, config.alertTimeoutMs + LEASE_MARGIN_MS);
  for (const a of rows) await deliverAlert(db.pool, config, a);
  expect(receiver.received).toHaveLength(1);
  expect(receiver.received[0]!.body).toMatchObject({
    kind: 'monitor', issue: null, monitor: { slug: 'nightly', environment: 'production', incident: 'missed' },
    text: `[jobs] Cron monitor nightly (production) missed a check-in http://cc.example/projects/jobs/monitors`,
  });

  await checkIn({ check_in_id: 'a2'.repeat(16), monitor_slug: 'nightly', status: 'ok', environment: 'production' });
  expect(await checkMonitors(db.pool)).toEqual({ opened: 0, resolved: 1 });
  expect((await listIncidents(db.pool, pid)).map((i) => [i.kind, i.resolved_at !== null])).toEqual([['missed', true]]);
});

test('a failed check-in and a check-in in progress past max_runtime: one alert each', async () => {
  await db.pool.query('DELETE FROM alert_outbox');
  await checkIn({ check_in_id: 'b1'.repeat(16), monitor_slug: 'backup', status: 'error', environment: 'production', monitor_config: schedule });
  await checkIn({ check_in_id: 'c1'.repeat(16), monitor_slug: 'report', status: 'in_progress', environment: 'production', monitor_config: schedule });
  expect(await checkMonitors(db.pool)).toEqual({ opened: 1, resolved: 0 });
  expect(await checkMonitors(db.pool, Date.now() + 6 * MIN)).toEqual({ opened: 1, resolved: 0 });
  expect(await checkMonitors(db.pool, Date.now() + 7 * MIN)).toEqual({ opened: 0, resolved: 0 });
  expect((await outbox()).map((r) => r.detail)).toEqual([
    'cron monitor backup (production) reported a failed check-in',
    'cron monitor report (production) has been in progress for more than its max_runtime (5 min)',
  ]);
});
