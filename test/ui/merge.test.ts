import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, type TestApp } from '../helpers/app.js';
import { UNDIGESTED_SQL } from '../helpers/db.js';
import { createUser } from '../../src/ui/users.js';
import { getPage, hidden, logIn } from './web.js';

// Merge and unmerge in the web UI: a member checks two issues on the list and merges them, then
// unmerges one fingerprint on the issue page; a viewer sees no such controls and is refused; a POST
// without the session's CSRF token is refused.

let app: TestApp;
let member = '';
let viewer = '';
const ids: Record<string, string> = {};

async function send(fp: string): Promise<string> {
  const id = randomUUID().replace(/-/g, '');
  const r = await fetch(`${app.server.url}/api/${app.projectId}/store/`, {
    method: 'POST',
    headers: { 'x-sentry-auth': app.auth, 'content-type': 'application/json' },
    body: JSON.stringify({ event_id: id, platform: 'python', level: 'error', message: `${fp} went wrong`, fingerprint: [fp] }),
  });
  expect(r.status).toBe(200);
  return id;
}

async function post(path: string, fields: [string, string][], cookie: string): Promise<Response> {
  return fetch(`${app.server.url}${path}`, {
    method: 'POST', redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', cookie },
    body: new URLSearchParams(fields).toString(),
  });
}

const issueCount = async () => (await app.db.pool.query('SELECT count(*)::int AS n FROM issue')).rows[0].n as number;

beforeAll(async () => {
  app = await startApp('web');
  await createUser(app.db.pool, 'owner@example.com', 'a long enough password', 'owner');
  await createUser(app.db.pool, 'member@example.com', 'a long enough password', 'member');
  await createUser(app.db.pool, 'viewer@example.com', 'a long enough password', 'viewer');
  for (const fp of ['one', 'two', 'two']) await send(fp);
  for (const deadline = Date.now() + 60_000; (await app.db.pool.query(UNDIGESTED_SQL)).rows[0].n > 0;) {
    if (Date.now() > deadline) throw new Error('the digest did not finish');
    await new Promise((r) => setTimeout(r, 100));
  }
  for (const r of (await app.db.pool.query<{ id: string; title: string }>('SELECT id, title FROM issue')).rows) ids[r.title.split(' ')[0]!] = r.id;
  member = await logIn(app.server, 'member@example.com', 'a long enough password');
  viewer = await logIn(app.server, 'viewer@example.com', 'a long enough password');
}, 120_000);
afterAll(async () => {
  await app?.close();
});

describe('merge in the web UI', () => {
  it('shows a viewer no merge controls and refuses their merge', async () => {
    const page = await getPage(app.server, '/projects/web/issues', viewer);
    expect(page).not.toContain('merge-form');
    const r = await post('/projects/web/issues/merge', [['_csrf', hidden(page, '_csrf')], ['id', ids.one!], ['id', ids.two!]], viewer);
    expect(r.status).toBe(403);
    expect(await issueCount()).toBe(2);
  });

  it('refuses a merge without the CSRF token', async () => {
    const r = await post('/projects/web/issues/merge', [['id', ids.one!], ['id', ids.two!]], member);
    expect(r.status).toBe(403);
    expect(await issueCount()).toBe(2);
  });

  it('lets a member merge two checked issues, then unmerge one fingerprint on the issue page', async () => {
    const list = await getPage(app.server, '/projects/web/issues', member);
    expect(list).toContain('action="/projects/web/issues/merge"');
    expect(list).toContain(`name="id" value="${ids.one}" form="merge-form"`);
    const csrf = hidden(list, '_csrf');
    expect((await post('/projects/web/issues/merge', [['_csrf', csrf], ['id', ids.one!]], member)).status).toBe(400);
    const r = await post('/projects/web/issues/merge', [['_csrf', csrf], ['id', ids.one!], ['id', ids.two!]], member);
    expect(r.status).toBe(303);
    expect(r.headers.get('location')).toBe(`/issues/${ids.two}`); // the one with more events
    expect(await issueCount()).toBe(1);

    const page = await getPage(app.server, `/issues/${ids.two}`, member);
    expect(page).toContain('<h2>Fingerprints</h2>');
    const hash = /name="hash" value="([0-9a-f]{32})"/.exec(page)![1]!;
    const u = await post(`/issues/${ids.two}/unmerge`, [['_csrf', hidden(page, '_csrf')], ['hash', hash]], member);
    expect(u.status).toBe(303);
    const dest = /^\/issues\/(\d+)$/.exec(u.headers.get('location')!)![1]!;
    expect(await issueCount()).toBe(2);
    expect((await app.db.pool.query('SELECT title, event_count::int AS n FROM issue WHERE id = $1', [dest])).rows).toEqual([{ title: 'one went wrong', n: 1 }]);
    expect(await getPage(app.server, `/issues/${ids.two}`, member)).not.toContain('<h2>Fingerprints</h2>');
  });
});
