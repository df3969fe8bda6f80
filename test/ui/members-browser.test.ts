import type { Page } from 'playwright-core';
import { openChromium, type Chromium } from '../helpers/chromium.js';
import { afterAll, beforeAll, expect, test, vi } from 'vitest';
import { freshDatabase, type TestDatabase } from '../helpers/db.js';
import { cli, startServer, type RunningServer } from '../helpers/server.js';
import { decodeQp, startSmtp, type SmtpReceiver } from '../alerts/smtp-receiver.js';
import { appCode, fromBase32 } from '../helpers/totp.js';

vi.setConfig({ testTimeout: 90_000, hookTimeout: 180_000 });

// Members in real headless Chromium: the owner invites a member limited to one project on the Members
// page; the member opens the link (also e-mailed to a real SMTP server), chooses a password, lands logged
// in, sees only their project, makes a token (scopes beyond their role cannot be ticked) and turns alert
// e-mail and e-mail about issues off on their profile. The owner, having forgotten their password,
// sets a new one through the link the login page e-mails, then turns two-factor log-in on.

const OWNER = 'owner@example.com';
const PASSWORD = 'the owner password';
let db: TestDatabase;
let server: RunningServer;
let smtp: SmtpReceiver;
let browser: Chromium;
let page: Page;

beforeAll(async () => {
  db = await freshDatabase();
  smtp = await startSmtp();
  const env = { DATABASE_URL: db.url };
  await cli(['user', 'create', '--email', OWNER, '--password', PASSWORD], env);
  await cli(['project', 'create', '--name', 'Web Shop'], env);
  await cli(['project', 'create', '--name', 'Back Office'], env);
  server = await startServer({ ...env, SMTP_URL: smtp.url, ALERT_EMAIL_FROM: 'crash@example.com' });
  browser = await openChromium();
  page = browser.page;
});
afterAll(async () => {
  await browser?.close();
  await server?.stop();
  await smtp?.close();
  await db?.drop();
});

test('invite, accept, and the new member\'s tokens and profile', async () => {
  await page.goto(`${server.url}/members`);
  await page.fill('#email', OWNER);
  await page.fill('#password', PASSWORD);
  await page.click('button[type=submit]');
  await page.waitForURL(`${server.url}/members`);
  expect(await page.locator('nav a[aria-current="page"]').textContent()).toBe('Members');

  await page.fill('#invite-email', 'dev@example.com');
  await page.selectOption('#invite-role', 'member');
  await page.check('#invite-some');
  await page.locator('#invite label', { hasText: 'Web Shop' }).locator('input').check();
  await page.click('#invite button[type=submit]');
  const link = (await page.locator('#invite-link').textContent())!;
  expect(link).toMatch(/\/invite\/[A-Za-z0-9_-]{43}$/);
  expect(await page.locator('#invite-mail').textContent()).toBe('It was e-mailed to dev@example.com.');
  expect(smtp.mails.map((m) => m.to)).toEqual([['dev@example.com']]);
  expect(await page.locator('#invites tr.invite').textContent()).toContain('Web Shop');

  await page.click('form.logout button');
  await page.waitForURL(/\/login$/);
  await page.goto(server.url + new URL(link).pathname);
  expect(await page.inputValue('#email')).toBe('dev@example.com');
  await page.fill('#password', 'the member password');
  await page.fill('#password2', 'the member password');
  await page.click('button[type=submit]');
  await page.waitForURL(`${server.url}/projects`);
  expect(await page.locator('.who').textContent()).toBe('dev@example.com');
  const projects = await page.locator('main').textContent();
  expect(projects).toContain('Web Shop');
  expect(projects).not.toContain('Back Office');

  // the link is spent
  await page.goto(server.url + new URL(link).pathname);
  expect(await page.locator('.error').textContent()).toContain('already been used');

  await page.goto(`${server.url}/tokens`);
  expect(await page.isDisabled('#scope-member-write')).toBe(true);
  expect(await page.isDisabled('#scope-event-write')).toBe(false);
  await page.fill('#token-name', 'laptop');
  await page.check('#scope-event-write');
  await page.click('#new-token-form button[type=submit]');
  const token = (await page.locator('#new-token').textContent())!;
  expect(token).toMatch(/^[0-9a-f]{64}$/);
  const api = await fetch(`${server.url}/api/0/users/me/`, { headers: { authorization: `Bearer ${token}` } });
  expect(await api.json()).toMatchObject({ email: 'dev@example.com', orgRole: 'member' });
  expect(await page.locator('#tokens tr.token').count()).toBe(1);

  await page.goto(`${server.url}/profile`);
  expect(await page.locator('#my-role').textContent()).toBe('member');
  await page.click('#notifications button');
  await page.waitForURL(/\/profile\?saved=1$/);
  expect(await page.locator('#email-alerts').textContent()).toContain('Off: you get no alert e-mail');
  expect((await db.pool.query("SELECT email_alerts FROM ui_user WHERE email = 'dev@example.com'")).rows).toEqual([{ email_alerts: false }]);
  await page.click('#issue-notifications button');
  await page.waitForURL(/\/profile\?saved=1$/);
  expect(await page.locator('#email-issues').textContent()).toContain('Off: you get no e-mail about assignments and comments');
  expect(await page.locator('#email-alerts').textContent()).toContain('Off: you get no alert e-mail');
});

test('forgot password: the login page\'s link, the e-mailed link, a new password, logged in', async () => {
  await page.context().clearCookies();
  smtp.mails.length = 0;
  await page.goto(`${server.url}/login`);
  await page.click('#forgot');
  await page.waitForURL(`${server.url}/password/forgot`);
  await page.fill('#email', OWNER);
  await page.click('#forgot-form button[type=submit]');
  expect(await page.locator('#reset-sent').textContent()).toContain(`If ${OWNER} is the address of an account here`);
  const deadline = Date.now() + 10_000;
  while (!smtp.mails.length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  expect(smtp.mails.map((m) => m.to)).toEqual([[OWNER]]);
  const link = /\/password\/reset\/[A-Za-z0-9_-]{43}/.exec(decodeQp(smtp.mails[0]!.raw))![0];
  await page.goto(server.url + link);
  expect(await page.inputValue('#email')).toBe(OWNER);
  await page.fill('#password', 'the new owner password');
  await page.fill('#password2', 'the new owner password');
  await page.click('#reset-form button[type=submit]');
  await page.waitForURL(`${server.url}/projects`);
  expect(await page.locator('.who').textContent()).toBe(OWNER);
  await page.click('form.logout button');
  await page.waitForURL(/\/login$/);
  await page.fill('#email', OWNER);
  await page.fill('#password', 'the new owner password');
  await page.click('button[type=submit]');
  await page.waitForURL(`${server.url}/projects`);
});

test('two-factor log-in: set up from the QR code\'s key, then a log-in asks for the code', async () => {
  await page.goto(`${server.url}/profile`);
  await page.click('#two-factor button[type=submit]');
  const qr = await page.locator('#two-factor-qr svg').boundingBox();
  // the stylesheet sizes it, 220 px less its padding (an inline style would be refused by the CSP)
  expect(Math.round(qr!.width)).toBe(212);
  const key = (await page.locator('#two-factor-key').textContent())!.replace(/\s/g, '');
  const secret = fromBase32(key);
  const code = (offset: number) => appCode(secret, offset);
  await page.fill('#code', code(0));
  await page.click('#two-factor-enable button[type=submit]');
  expect(await page.locator('#recovery-codes li').count()).toBe(10);
  await page.goto(`${server.url}/profile`);
  expect(await page.locator('#two-factor-state').textContent()).toContain('On since');

  await page.click('form.logout button');
  await page.waitForURL(/\/login$/);
  await page.fill('#email', OWNER);
  await page.fill('#password', 'the new owner password');
  await page.click('button[type=submit]');
  await page.waitForURL(`${server.url}/login/code`);
  await page.fill('#code', code(1));
  await page.click('#code-form button[type=submit]');
  await page.waitForURL(`${server.url}/projects`);
  expect(await page.locator('.who').textContent()).toBe(OWNER);
});
