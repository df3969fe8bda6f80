import { afterAll, beforeAll, expect, test, vi } from 'vitest';
import { freshDatabase, type TestDatabase } from '../helpers/db.js';
import { createProject } from '../../src/storage/projects.js';
import { addAlertRule } from '../../src/alerts/rules.js';
import { enqueue } from '../digest/archive.js';
import { spawnWorker, until, type WorkerProcess } from '../digest/worker-process.js';
import { startReceiver, type Receiver } from './receiver.js';

vi.setConfig({ testTimeout: 120_000, hookTimeout: 120_000 });

// Two worker processes (each with its alert sender) share one database: 60 new issues on two
// webhooks are 120 alerts, each POSTed until it succeeds and delivered exactly once, also when the
// first answer to some of them was a 500 and a retry may be claimed by the other process.

let db: TestDatabase;
let receiver: Receiver;
const workers: WorkerProcess[] = [];
const ISSUES = 60;

beforeAll(async () => {
  db = await freshDatabase();
  receiver = await startReceiver();
});
afterAll(async () => {
  await Promise.all(workers.map((w) => w.stop()));
  await receiver?.close();
  await db?.drop();
});

test('two workers deliver each alert exactly once', async () => {
  const { project } = await createProject(db.pool, { name: 'two workers' });
  await addAlertRule(db.pool, project.id, receiver.url);
  await addAlertRule(db.pool, project.id, `${receiver.url}?second`);
  // the first POST of every third alert fails
  const failedOnce = new Set<string>();
  receiver.respond = (r) => {
    const id = r.headers['x-crash-cache-delivery'] as string;
    if (Number(id) % 3 === 0 && !failedOnce.has(id)) return (failedOnce.add(id), 500);
    return 200;
  };
  const env = { DATABASE_URL: db.url, WORKER_BATCH_SIZE: '10', ALERT_RETRY_SECS: '0', LOG_LEVEL: 'info', OUTBOUND_ALLOW_INTERNAL: '127.0.0.1' };
  workers.push(...(await Promise.all([spawnWorker(env), spawnWorker(env)])));
  await enqueue(db.pool, project.id, Array.from({ length: ISSUES }, (_, i) => ({
    kind: 'store' as const,
    body: Buffer.from(JSON.stringify({ event_id: (i + 1).toString(16).padStart(32, '0'), platform: 'node', exception: { values: [{ type: `Error${i}`, value: 'x' }] } })),
  })));
  await db.pool.query('NOTIFY crash_cache_queue');

  await until(async () => (await db.pool.query("SELECT count(*)::int AS n FROM alert_outbox WHERE status = 'delivered'")).rows[0].n === 2 * ISSUES, 60_000, 'every alert delivered');
  const ok = receiver.received.filter((r) => r.status === 200);
  const perDelivery = new Map<string, number>();
  for (const r of ok) perDelivery.set(r.headers['x-crash-cache-delivery'] as string, (perDelivery.get(r.headers['x-crash-cache-delivery'] as string) ?? 0) + 1);
  expect(perDelivery.size).toBe(2 * ISSUES);
  expect([...perDelivery.values()].every((n) => n === 1)).toBe(true);
  expect(receiver.received).toHaveLength(2 * ISSUES + failedOnce.size);
  // one 'new' alert per issue and webhook
  const perIssue = new Map<string, number>();
  for (const r of ok) perIssue.set(`${r.path} ${r.body.issue.id}`, (perIssue.get(`${r.path} ${r.body.issue.id}`) ?? 0) + 1);
  expect(perIssue.size).toBe(2 * ISSUES);
  const rows = (await db.pool.query("SELECT attempts, count(*)::int AS n FROM alert_outbox GROUP BY attempts ORDER BY attempts")).rows;
  expect(rows).toEqual([{ attempts: 1, n: 2 * ISSUES - failedOnce.size }, { attempts: 2, n: failedOnce.size }]);
  // each process logs what it delivered (the log lines may arrive just after the rows committed)
  const sent = () => workers.map((w) => w.logs.filter((l) => l.msg === 'alert delivered').length);
  await until(async () => sent()[0]! + sent()[1]! >= 2 * ISSUES, 10_000, 'the delivery log lines');
  console.log(`alerts delivered per worker process: ${sent().join(', ')}`);
  expect(sent()[0]! + sent()[1]!).toBe(2 * ISSUES);
});
