import { randomUUID } from 'node:crypto';
import type { Page } from 'playwright-core';
import { openChromium, type Chromium } from '../helpers/chromium.js';
import { afterAll, beforeAll, expect, test, vi } from 'vitest';
import { freshDatabase, type TestDatabase } from '../helpers/db.js';
import { cli, startServer, type RunningServer } from '../helpers/server.js';

vi.setConfig({ testTimeout: 120_000, hookTimeout: 180_000 });

// A team's first day, in real headless Chromium against the real server: the owner creates a project and
// invites a member to it in the UI; an error arrives through the project's DSN; the member accepts the
// invite, sees the issue, assigns it to themself and comments, and is refused the project's settings.

const OWNER = 'owner@example.com';
const MEMBER = 'dev@example.com';
let db: TestDatabase;
let server: RunningServer;
let browser: Chromium;
let page: Page;

beforeAll(async () => {
  db = await freshDatabase();
  const env = { DATABASE_URL: db.url };
  await cli(['user', 'create', '--email', OWNER, '--password', 'the owner password'], env);
  server = await startServer(env);
  browser = await openChromium();
  page = browser.page;
});
afterAll(async () => {
  await browser?.close();
  await server?.stop();
  await db?.drop();
});

async function until<T>(what: string, f: () => Promise<T | null | undefined>): Promise<T> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const v = await f();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

test('the owner makes a project and invites a member, who triages its first issue but cannot change its settings', async () => {
  // the owner logs in and creates the project
  await page.goto(`${server.url}/projects`);
  await page.fill('#email', OWNER);
  await page.fill('#password', 'the owner password');
  await page.click('button[type=submit]');
  await page.waitForURL(`${server.url}/projects`);
  await page.click('a[href="/projects/new"]');
  await page.fill('#name', 'Checkout');
  await page.fill('#platform', 'python');
  await page.click('button:has-text("Create project")');
  await page.waitForURL(/\/projects\/checkout\/keys/);
  const dsn = (await page.locator('main').textContent())!.match(/http:\/\/([0-9a-f]{32})@[^/\s]+\/(\d+)/);
  expect(dsn, 'the keys page shows the new DSN').not.toBeNull();
  const [, key, projectId] = dsn!;

  // …and invites a member limited to it
  await page.goto(`${server.url}/members`);
  await page.fill('#invite-email', MEMBER);
  await page.selectOption('#invite-role', 'member');
  await page.check('#invite-some');
  await page.locator('#invite label', { hasText: 'Checkout' }).locator('input').check();
  await page.click('#invite button[type=submit]');
  const link = (await page.locator('#invite-link').textContent())!;
  await page.click('form.logout button');
  await page.waitForURL(/\/login$/);

  // the project's first error, through its DSN as an SDK sends it
  const eventId = randomUUID().replace(/-/g, '');
  const sent = await fetch(`${server.url}/api/${projectId}/store/`, {
    method: 'POST',
    headers: { 'x-sentry-auth': `Sentry sentry_key=${key}, sentry_version=7`, 'content-type': 'application/json' },
    body: JSON.stringify({ event_id: eventId, platform: 'python', level: 'error', exception: { values: [{ type: 'PaymentDeclined', value: 'card 4242 declined' }] } }),
  });
  expect(sent.status).toBe(200);
  const issueId = await until('the event to be digested', async () =>
    (await db.pool.query<{ issue_id: string }>('SELECT issue_id::text FROM report WHERE event_id = $1', [eventId])).rows[0]?.issue_id);

  // the member accepts and lands logged in
  await page.goto(server.url + new URL(link).pathname);
  await page.fill('#password', 'the member password');
  await page.fill('#password2', 'the member password');
  await page.click('button[type=submit]');
  await page.waitForURL(`${server.url}/projects`);
  expect(await page.locator('.who').textContent()).toBe(MEMBER);

  // sees the issue in the project's stream and opens it
  await page.goto(`${server.url}/projects/checkout/issues`);
  await page.click('a:has-text("PaymentDeclined")');
  await page.waitForURL(new RegExp(`/issues/${issueId}`));
  expect(await page.locator('#issue-assignee').textContent()).toContain('nobody');

  // assigns it to themself
  await page.click('button:has-text("Assign to me")');
  await page.waitForURL(new RegExp(`/issues/${issueId}`));
  expect(await page.locator('#issue-assignee').textContent()).toBe(MEMBER);

  // comments
  await page.fill('#comment-text', 'Looking into the payment provider <script>alert(1)</script>');
  await page.click('.comment-form button[type=submit]');
  await page.waitForURL(new RegExp(`/issues/${issueId}`));
  const timeline = (await page.locator('#activity').textContent())!;
  expect(timeline).toContain('Looking into the payment provider <script>alert(1)</script>');
  expect(timeline).toContain(MEMBER);
  expect(await page.locator('#activity script').count()).toBe(0);

  // what the API says, through the same database
  const assigned = await db.pool.query('SELECT u.email FROM issue_assignee a JOIN ui_user u ON u.id = a.user_id WHERE a.issue_id = $1', [issueId]);
  expect(assigned.rows).toEqual([{ email: MEMBER }]);
  const types = (await db.pool.query<{ type: string }>('SELECT type FROM issue_activity WHERE issue_id = $1 ORDER BY id', [issueId])).rows.map((r) => r.type);
  expect(types).toEqual(['assigned', 'note']);

  // no settings for a member: no tab, and a 403 page when opened by hand
  expect(await page.locator('nav a:has-text("Settings")').count()).toBe(0);
  const settings = await page.goto(`${server.url}/projects/checkout/settings`);
  expect(settings!.status()).toBe(403);
  const denied = await page.goto(`${server.url}/projects/checkout/scrubbing`);
  expect(denied!.status()).toBe(403);
});
