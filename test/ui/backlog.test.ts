import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, type TestApp } from '../helpers/app.js';
import { until } from '../helpers/poll.js';
import { cli, startServer } from '../helpers/server.js';
import { age } from '../../src/ui/backlog-view.js';
import { getPage, logIn } from './web.js';

// The issue list (and /health, for the whole server) says when it lags what was accepted: payloads
// still waiting for the digest (here a server with no worker, so they wait until one starts) and
// payloads the digest gave up on.

let app: TestApp;
let cookie: string;
const page = () => getPage(app.server, '/projects/backlog/issues', cookie);
const notice = (html: string) => /<div class="notice" role="status" id="backlog-notice">([\s\S]*?)<\/div>/.exec(html)?.[1] ?? null;

beforeAll(async () => {
  app = await startApp('Backlog', {}, ['--no-worker']);
  await cli(['user', 'create', '--email', 'oncall@example.com', '--password', 'backlog-password'], { DATABASE_URL: app.db.url });
  cookie = await logIn(app.server, 'oncall@example.com', 'backlog-password');
});

afterAll(async () => {
  await app?.close();
});

async function sendEvent(): Promise<void> {
  const r = await fetch(`${app.server.url}/api/${app.projectId}/store/`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-sentry-auth': app.auth },
    body: JSON.stringify({ event_id: randomUUID().replace(/-/g, ''), platform: 'node', level: 'error', exception: { values: [{ type: 'Error', value: 'queued' }] } }),
  });
  expect(r.status).toBe(200);
}

describe('the issue list during a backlog', () => {
  it('says how many payloads wait and for how long, and which could not be processed, until the digest catches up', async () => {
    for (let i = 0; i < 3; i++) await sendEvent();
    // Just received: the digest's normal delay, nothing to say.
    expect(notice(await page())).toBeNull();

    await app.db.pool.query("UPDATE queue SET enqueued_at = now() - interval '3 minutes 10 seconds' WHERE project_id = $1", [app.projectId]);
    // /health says the same for the whole server
    const h = (await (await fetch(`${app.server.url}/health`)).json()) as { queued: number; queue_oldest_secs: number | null };
    expect(h.queued).toBe(3);
    expect(h.queue_oldest_secs).toBeGreaterThanOrEqual(190);
    expect(h.queue_oldest_secs).toBeLessThan(250);
    let n = notice(await page());
    expect(n).toContain('3 payloads received for this project are waiting to be processed, the oldest for 3 min');
    expect(n).not.toContain('could not be processed');
    expect(n).not.toContain('another attempt');

    // One failed an attempt and waits for the next (as the worker reschedules it before WORKER_MAX_ATTEMPTS).
    await app.db.pool.query('UPDATE queue SET attempts = 1 WHERE id = (SELECT max(id) FROM queue WHERE project_id = $1)', [app.projectId]);
    n = notice(await page());
    expect(n).toContain('the issues below do not count them yet. 1 payload of them failed to process and waits for another attempt: <code>crash-cache-cli queue errors</code> says why.');
    await app.db.pool.query('UPDATE queue SET attempts = 0 WHERE project_id = $1', [app.projectId]);

    // One payload the digest gave up on (as the worker moves it after WORKER_MAX_ATTEMPTS).
    await app.db.pool.query(`WITH d AS (DELETE FROM queue WHERE id = (SELECT min(id) FROM queue WHERE project_id = $1) RETURNING project_id, archive_id, attempts)
      INSERT INTO queue_error (project_id, archive_id, attempts, error) SELECT project_id, archive_id, attempts, 'test: unreadable' FROM d`, [app.projectId]);
    n = notice(await page());
    expect(n).toContain('2 payloads received for this project are waiting');
    expect(n).toContain('1 payload of this project could not be processed');
    expect(n).toContain('crash-cache-cli queue errors');

    // A worker drains the queue: only the failed payload is left to mention.
    const worker = await startServer({ DATABASE_URL: app.db.url }, ['worker']);
    try {
      n = await until('the queue drained', async () => notice(await page()), (x) => x !== null && !x.includes('waiting'));
      expect(n).toContain('1 payload of this project could not be processed');
      expect(await page()).toContain('queued');
    } finally {
      await worker.stop();
    }

    // Retried and digested: nothing to say.
    await cli(['queue', 'retry', '--all'], { DATABASE_URL: app.db.url });
    const again = await startServer({ DATABASE_URL: app.db.url }, ['worker']);
    try {
      const health = async () => (await (await fetch(`${app.server.url}/health`)).json()) as { queued: number; queue_oldest_secs: number | null; failed: number };
      const after = await until('the retried payload digested', health, (x) => x.queued === 0);
      expect(after.queue_oldest_secs).toBeNull();
      expect(after.failed).toBe(0);
      expect(notice(await page())).toBeNull();
    } finally {
      await again.stop();
    }
  });

  it('words ages as a person reads them', () => {
    expect(age(0)).toBe('0 s');
    expect(age(59.9)).toBe('59 s');
    expect(age(60)).toBe('1 min');
    expect(age(3599)).toBe('59 min');
    expect(age(3600)).toBe('1 h');
    expect(age(3 * 3600 + 5 * 60 + 7)).toBe('3 h 5 min');
  });
});
