import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Page } from 'playwright-core';
import { openChromium, type Chromium } from '../helpers/chromium.js';
import { afterAll, beforeAll, expect, test, vi } from 'vitest';
import { PACKAGE_ROOT } from '../../src/paths.js';
import { freshDatabase, type TestDatabase } from '../helpers/db.js';
import { cli, startServer, type RunningServer } from '../helpers/server.js';
import { startSmtp, subjectOf, type SmtpReceiver } from '../alerts/smtp-receiver.js';

vi.setConfig({ testTimeout: 90_000, hookTimeout: 180_000 });

// The alerts page in real headless Chromium: create an e-mail rule in the UI, send it a test, trigger it
// with an event from the official @sentry/node SDK, and see its delivery in the UI — while a real SMTP
// server receives the mail. Then a Slack rule, whose URL the page shows without its secret part.

const EMAIL = 'oncall@example.com';
const PASSWORD = 'it is 3 am and the pager rang';
let db: TestDatabase;
let server: RunningServer;
let smtp: SmtpReceiver;
let browser: Chromium;
let page: Page;
let dsn: string;

beforeAll(async () => {
  db = await freshDatabase();
  smtp = await startSmtp();
  await cli(['user', 'create', '--email', EMAIL, '--password', PASSWORD], { DATABASE_URL: db.url });
  const env = { DATABASE_URL: db.url, SMTP_URL: smtp.url, ALERT_EMAIL_FROM: 'crash@example.com', OUTBOUND_ALLOW_INTERNAL: '127.0.0.1' };
  dsn = /DSN: (\S+)/.exec(await cli(['project', 'create', '--name', 'Web Shop'], env))![1]!;
  server = await startServer(env);
  dsn = dsn.replace(/@[^/]+\//, `@127.0.0.1:${new URL(server.url).port}/`);
  browser = await openChromium();
  page = browser.page;
});
afterAll(async () => {
  await browser?.close();
  await server?.stop();
  await smtp?.close();
  await db?.drop();
});

async function reloadUntil(url: string, ok: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    await page.goto(url);
    if (await ok()) return;
    if (Date.now() > deadline) throw new Error(`condition not met on ${url} within 30 s`);
    await page.waitForTimeout(200);
  }
}

test('create an e-mail rule in the UI, test it, trigger it and see the delivery', async () => {
  await page.goto(`${server.url}/projects/web-shop/alerts`);
  await page.fill('#email', EMAIL);
  await page.fill('#password', PASSWORD);
  await page.click('button[type=submit]');
  await page.waitForURL(`${server.url}/projects/web-shop/alerts`);
  expect(await page.locator('nav a[aria-current="page"]').textContent()).toBe('Alerts');

  // a bad address is refused with the reason, nothing saved
  await page.fill('#name', 'pager');
  await page.selectOption('#channel', 'email');
  await page.fill('#target', 'not-an-address');
  await page.click('#new-rule button[type=submit]');
  expect(await page.locator('.error').textContent()).toBe('not an e-mail address: "not-an-address"');
  expect(await page.locator('tr.rule').count()).toBe(0);

  await page.fill('#name', 'pager');
  await page.selectOption('#channel', 'email');
  await page.fill('#target', 'team@example.com');
  await page.fill('#interval', '0');
  await page.click('#new-rule button[type=submit]');
  await page.waitForURL(/alerts\?saved=1$/);
  const rule = page.locator('tr.rule', { hasText: 'pager' });
  expect(await rule.count()).toBe(1);
  expect(await rule.textContent()).toContain('team@example.com');

  await rule.locator('button', { hasText: 'Send test' }).click();
  expect(await page.locator('#alert-notice').textContent()).toMatch(/^Test notification delivered: SMTP 250 /);
  expect(smtp.mails.map((m) => [m.to, subjectOf(m.raw)])).toEqual([[['team@example.com'], '[web-shop] Test notification from crash-cache']]);

  await promisify(execFile)(process.execPath, [join(PACKAGE_ROOT, 'test', 'ui', 'sdk-app.mjs'), 'error'], {
    env: { ...process.env, SENTRY_DSN: dsn, UI_MARKER: 'alerted' }, timeout: 30_000 });
  const delivered = page.locator('tr.delivery.status-delivered', { hasText: 'new' });
  await reloadUntil(`${server.url}/projects/web-shop/alerts`, async () => (await delivered.count()) === 1);
  expect(await delivered.locator('td.num').textContent()).toBe('1');
  expect(smtp.mails).toHaveLength(2);
  expect(subjectOf(smtp.mails[1]!.raw)).toMatch(/^\[web-shop\] New issue WEB-SHOP-1: Error: card declined for 42/);

  // a Slack rule: its URL is never shown back in full
  await page.fill('#name', 'chat');
  await page.selectOption('#channel', 'slack');
  await page.fill('#target', 'https://hooks.slack.com/services/T000/B000/SECRETsecret');
  await page.click('#new-rule button[type=submit]');
  await page.waitForURL(/alerts\?saved=1$/);
  expect(await page.locator('tr.rule', { hasText: 'chat' }).textContent()).toContain('https://hooks.slack.com/services/…');
  expect(await page.content()).not.toContain('SECRETsecret');

  // the viewer turns this project's member e-mail off, and on again
  await page.click('#my-email button');
  await page.waitForURL(/alerts\?saved=1$/);
  expect(await page.locator('#my-email p').textContent()).toContain('You do not get');
});

test('the monitors page shows a monitor\'s status and its check-ins', async () => {
  const key = /\/\/([0-9a-f]+)@/.exec(dsn)![1]!;
  const projectId = /\/(\d+)$/.exec(dsn)![1]!;
  const r = await fetch(`${server.url}/api/${projectId}/envelope/?sentry_key=${key}`, {
    method: 'POST',
    body: `{}\n{"type":"check_in"}\n${JSON.stringify({ check_in_id: 'd1'.repeat(16), monitor_slug: 'nightly-report', status: 'error', environment: 'production', duration: 2.5,
      monitor_config: { schedule: { type: 'crontab', value: '0 3 * * *' }, checkin_margin: 5, max_runtime: 30 } })}\n`,
  });
  expect(r.status).toBe(200);
  const row = page.locator('#monitor-nightly-report table.monitor-envs tbody tr');
  await reloadUntil(`${server.url}/projects/web-shop/monitors`, async () => (await row.count()) === 1);
  expect(await row.locator('.status').textContent()).toBe('error');
  expect(await page.locator('#monitor-nightly-report table.check-ins tbody tr').first().textContent()).toContain('2.5 s');
  expect(await page.locator('nav a[aria-current="page"]').textContent()).toBe('Monitors');
});
