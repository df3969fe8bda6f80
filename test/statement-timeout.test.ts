import { afterAll, beforeAll, expect, it } from 'vitest';
import { startApp, type TestApp } from './helpers/app.js';

// DB_STATEMENT_TIMEOUT_MS bounds every request-path statement: a query stuck behind a lock is
// cancelled by PostgreSQL and the request answers 503 with Retry-After instead of hanging until the
// lock goes. Here the test holds an exclusive lock on the project-key table while an event arrives
// for a key the server has not cached yet: the answer comes while the lock is still held (with the
// setting off, the request would wait for the lock and this test would time out).

let app: TestApp;

beforeAll(async () => {
  app = await startApp('timeouts', { DB_STATEMENT_TIMEOUT_MS: '300' });
});
afterAll(async () => {
  await app?.close();
});

it('a statement waiting on a lock is cancelled after DB_STATEMENT_TIMEOUT_MS: 503, then 200 once the lock is gone', async () => {
  const send = () =>
    fetch(`${app.server.url}/api/${app.projectId}/store/`, {
      method: 'POST',
      headers: { 'x-sentry-auth': app.auth, 'content-type': 'application/json' },
      body: JSON.stringify({ message: 'behind a lock' }),
    });
  const locker = await app.db.pool.connect();
  try {
    await locker.query('BEGIN');
    await locker.query('LOCK TABLE project_key IN ACCESS EXCLUSIVE MODE');
    const r = await send();
    expect(r.status).toBe(503);
    expect(r.headers.get('retry-after')).toBeTruthy();
    expect(((await r.json()) as { detail: string }).detail).toMatch(/database/i);
    // the lock is still held: the answer did not wait for it
    expect((await locker.query(`SELECT count(*)::int AS n FROM pg_locks WHERE relation = 'project_key'::regclass AND mode = 'AccessExclusiveLock' AND granted`)).rows[0].n).toBe(1);
  } finally {
    await locker.query('ROLLBACK');
    locker.release();
  }
  expect((await send()).status).toBe(200);
});
