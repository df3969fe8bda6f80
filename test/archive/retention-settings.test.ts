import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, type TestApp } from '../helpers/app.js';
import { cli } from '../helpers/server.js';
import { getPage, hidden, logIn, postForm } from '../ui/web.js';

// A project's own retention, set the three ways an operator can (CLI, API, web UI), each refusing
// a bad value with a message naming it and changing nothing; `crash-cache-cli storage` shows it.

let app: TestApp;
let token: string;
let env: Record<string, string>;
const settings = async () =>
  (await app.db.pool.query<{ retention_days: number | null; max_events_per_issue: number | null }>('SELECT retention_days, max_events_per_issue FROM project WHERE id = $1', [app.projectId])).rows[0];

beforeAll(async () => {
  app = await startApp('keep-me');
  env = { DATABASE_URL: app.db.url };
  token = /^([0-9a-f]{64})$/m.exec(await cli(['token', 'create', '--name', 'retention'], env))![1]!;
});
afterAll(async () => {
  await app?.close();
});

describe('per-project retention settings', () => {
  it('CLI: project update --retention-days / --max-events-per-issue, and storage shows them', async () => {
    const out = await cli(['project', 'update', String(app.projectId), '--retention-days', '30', '--max-events-per-issue', '50'], env);
    expect(out).toContain(`Project ${app.projectId} retention: 30 days.`);
    expect(await settings()).toEqual({ retention_days: 30, max_events_per_issue: 50 });
    await expect(cli(['project', 'update', String(app.projectId), '--retention-days', 'abc'], env)).rejects.toThrow(/--retention-days must be a whole number/);
    await expect(cli(['project', 'update', String(app.projectId), '--max-events-per-issue', '1'], env)).rejects.toThrow(/--max-events-per-issue must be a whole number ≥ 2/);
    expect(await settings()).toEqual({ retention_days: 30, max_events_per_issue: 50 });
    const storage = await cli(['storage'], env);
    expect(storage).toMatch(/^Disk: [\d.]+ MB in files, [\d.]+ MB in use/m);
    expect(storage).toMatch(/^keep-me\t0\t0\t0\t\d+\t-\t30 days, 50 events\/issue$/m);
    await cli(['project', 'update', String(app.projectId), '--retention-days', 'default', '--max-events-per-issue', 'unlimited'], env);
    expect(await settings()).toEqual({ retention_days: null, max_events_per_issue: null });
  });

  it('API: retentionDays and maxEventsPerIssue in the project detail and its PUT', async () => {
    const url = `${app.server.url}/api/0/projects/crash-cache/keep-me/`;
    const put = (body: unknown) => fetch(url, { method: 'PUT', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const bad = await put({ retentionDays: 0 });
    expect(bad.status).toBe(400);
    expect((await bad.json()).detail).toMatch(/^retentionDays must be a whole number from 1 to 36500/);
    const ok = await put({ retentionDays: 7, maxEventsPerIssue: 10 });
    expect(ok.status).toBe(200);
    expect(await ok.json()).toMatchObject({ retentionDays: 7, hasOwnRetention: true, maxEventsPerIssue: 10 });
    expect(await settings()).toEqual({ retention_days: 7, max_events_per_issue: 10 });
    const back = await put({ retentionDays: null, maxEventsPerIssue: null });
    expect(await back.json()).toMatchObject({ retentionDays: 90, hasOwnRetention: false, maxEventsPerIssue: null });
  });

  it('web UI: the Storage page shows the numbers and saves the form', async () => {
    await cli(['user', 'create', '--email', 'r@example.com', '--password', 'retention-password'], env);
    const cookie = await logIn(app.server, 'r@example.com', 'retention-password');
    const page = await getPage(app.server, '/projects/keep-me/storage', cookie);
    expect(page).toContain('<h1>Storage</h1>');
    const csrf = hidden(page, '_csrf');
    const bad = await postForm(app.server, '/projects/keep-me/storage', { _csrf: csrf, days: '-3', max_events: '' }, cookie);
    expect(bad.status).toBe(400);
    expect(await bad.text()).toContain('Days kept must be a whole number from 1 to 36500, or empty');
    expect(await settings()).toEqual({ retention_days: null, max_events_per_issue: null });
    const ok = await postForm(app.server, '/projects/keep-me/storage', { _csrf: csrf, days: '14', max_events: '3' }, cookie);
    expect(ok.status).toBe(303);
    expect(await settings()).toEqual({ retention_days: 14, max_events_per_issue: 3 });
    expect(await getPage(app.server, '/projects/keep-me/storage?saved=1', cookie)).toContain('value="14"');
  });
});
