import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PACKAGE_ROOT } from '../../src/paths.js';
import { freshDatabase, type TestDatabase } from '../helpers/db.js';
import { cli, startServer, type RunningServer } from '../helpers/server.js';

// End to end in real headless Chromium (Debian's package, driven by playwright-core): log in, look
// at the pages, and save screenshots to test-artifacts/screenshots/ for a person to look at.

const SHOTS = join(PACKAGE_ROOT, 'test-artifacts', 'screenshots');
const EMAIL = 'oncall@example.com';
const PASSWORD = 'it is 3 am and the pager rang';

let db: TestDatabase;
let server: RunningServer;
let browser: BrowserContext;
let page: Page;
let profileDir: string;
let dsn: string;
const consoleLines: string[] = [];
const dialogs: string[] = [];

const execFileP = promisify(execFile);

/** Runs test/ui/sdk-app.mjs: the official @sentry/node SDK sends one event and exits. */
async function sendWithSdk(scenario: 'error' | 'xss', marker: string): Promise<void> {
  await execFileP(process.execPath, [join(PACKAGE_ROOT, 'test', 'ui', 'sdk-app.mjs'), scenario], {
    env: { ...process.env, SENTRY_DSN: dsn, UI_MARKER: marker },
    timeout: 30_000,
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

/** Loads `url` until `ok()` holds: the digest works asynchronously. Bounded at 30 s. */
async function reloadUntil(url: string, ok: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    await page.goto(url);
    if (await ok()) return;
    if (Date.now() > deadline) throw new Error(`condition not met on ${url} within 30 s`);
    await page.waitForTimeout(200);
  }
}

async function shot(name: string): Promise<void> {
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
}

beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true });
  db = await freshDatabase();
  await cli(['user', 'create', '--email', EMAIL, '--password', PASSWORD], { DATABASE_URL: db.url });
  // PUBLIC_URL names the real port, so the DSN the UI shows is the one the SDK uses.
  const port = await freePort();
  const env = { DATABASE_URL: db.url, SERVER_PORT: String(port), PUBLIC_URL: `http://127.0.0.1:${port}` };
  const created = await cli(['project', 'create', '--name', 'Web Shop'], env);
  dsn = /DSN: (\S+)/.exec(created)![1]!;
  server = await startServer(env);
  profileDir = mkdtempSync(join(tmpdir(), 'crash-cache-chromium-'));
  browser = await chromium.launchPersistentContext(profileDir, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: { width: 1280, height: 900 },
  });
  page = browser.pages()[0] ?? (await browser.newPage());
  page.on('console', (m) => consoleLines.push(m.text()));
  page.on('dialog', (d) => {
    dialogs.push(d.message());
    void d.dismiss();
  });
}, 180_000);

afterAll(async () => {
  await browser?.close();
  if (profileDir) rmSync(profileDir, { recursive: true, force: true });
  await server?.stop();
  await db?.drop();
});

describe('web UI in Chromium', () => {
  it('logs in', async () => {
    await page.goto(`${server.url}/projects`);
    expect(page.url()).toContain('/login?next=%2Fprojects');
    await shot('login');
    await page.fill('#email', EMAIL);
    await page.fill('#password', 'wrong password');
    await page.click('button[type=submit]');
    expect(await page.locator('.error').textContent()).toBe('Wrong e-mail or password.');
    await page.fill('#password', PASSWORD);
    await page.click('button[type=submit]');
    await page.waitForURL(`${server.url}/projects`);
    expect(await page.locator('.who').textContent()).toBe(EMAIL);
  });

  it('shows projects with their DSN and SDK snippets', async () => {
    await page.goto(`${server.url}/projects`);
    const dsnText = await page.locator('td code').first().textContent();
    expect(dsnText).toBe(dsn);
    await page.click('#sdk-web-shop-python summary');
    const snippet = page.locator('#sdk-web-shop-python pre').nth(1);
    expect(await snippet.isVisible()).toBe(true);
    expect(await snippet.textContent()).toContain('sentry_sdk.init(');
    expect(await snippet.textContent()).toContain(dsnText!);
    // the external script runs under the CSP: it added copy buttons to the DSN and the snippets
    expect(await page.locator('button.copy').count()).toBeGreaterThan(1);
    await shot('projects');
  });

  it('finds an error sent by @sentry/node in the stream, opens it, resolves it, and sees it regress', async () => {
    await sendWithSdk('error', 'first');
    const stream = `${server.url}/projects/web-shop/issues`;
    const row = page.locator('tr.issue-row', { hasText: 'card declined for 42' });
    await reloadUntil(stream, async () => (await row.count()) === 1);
    expect(await row.locator('.status').textContent()).toBe('unresolved');
    await shot('issues');
    await row.locator('a.issue-title').click();
    await page.waitForURL(/\/issues\/\d+$/);
    const issueUrl = page.url();
    expect(await page.locator('#issue-title').textContent()).toContain('card declined for 42 first');
    // the most recent frame is ours: in-app, highlighted, open, with its source line
    const inApp = page.locator('.frame.in-app').first();
    expect(await inApp.locator('.fn').textContent()).toBe('chargeCustomerCard');
    expect(await inApp.getAttribute('open')).not.toBeNull();
    expect(await inApp.locator('.context li.cur').textContent()).toContain('throw new Error(`card declined for ${amount} ${M}`);');
    // system frames are folded away
    expect(await page.locator('details.system-group').count()).toBeGreaterThan(0);
    expect(await page.locator('details.system-group').first().getAttribute('open')).toBeNull();
    expect(await page.locator('h2', { hasText: 'Why it was grouped here' }).count()).toBe(1);
    await shot('issue');

    await page.click('button:has-text("Resolve")');
    await page.waitForURL(issueUrl);
    expect(await page.locator('#issue-status').textContent()).toBe('resolved');
    await page.goto(`${stream}?status=resolved`);
    expect(await row.count()).toBe(1);

    await sendWithSdk('error', 'again');
    await reloadUntil(issueUrl, async () => (await page.locator('#issue-status').textContent()) === 'regressed');
    expect(await page.locator('#issue-title').textContent()).toContain('card declined for 42');
    await page.goto(`${stream}?status=regressed`);
    expect(await row.count()).toBe(1);
    // the older event is one click away, and both are listed
    await page.goto(issueUrl);
    expect(await page.locator('summary', { hasText: 'Latest 2 events' }).count()).toBe(1);
    await page.click('a[rel=prev]');
    await page.waitForURL(/\/events\/[0-9a-f]{32}$/);
    expect(await page.locator('.exc-value').first().textContent()).toContain('card declined for 42 first');
    await shot('issue-older-event');
    await page.emulateMedia({ colorScheme: 'dark' });
    await page.goto(issueUrl);
    await shot('issue-dark');
    await page.emulateMedia({ colorScheme: 'light' });
  });

  it('renders hostile event text as text and runs none of it', async () => {
    await sendWithSdk('xss', 'xss');
    const stream = `${server.url}/projects/web-shop/issues`;
    const row = page.locator('tr.issue-row', { hasText: 'hostile xss' });
    await reloadUntil(stream, async () => (await row.count()) === 1);
    // the title is shown as the literal characters
    expect(await row.locator('a.issue-title').textContent()).toContain('hostile xss <script>window.__xss = 1;');
    await row.locator('a.issue-title').click();
    await page.waitForURL(/\/issues\/\d+$/);
    const body = (await page.locator('main').textContent())!;
    expect(body).toContain('<img src=x onerror="window.__xss = 2;');
    expect(body).toContain('<script>window.__xss = 1; console.log("XSS-RAN")</script>');
    // no element was created from the payloads, and nothing ran
    expect(await page.locator('main img, main script, main b').count()).toBe(0);
    expect(await page.evaluate(() => (window as unknown as { __xss?: number }).__xss)).toBeUndefined();
    await shot('issue-xss');
  });

  it('shows releases', async () => {
    await page.goto(`${server.url}/projects/web-shop/releases`);
    expect(await page.locator('tr.release-row td.mono').first().textContent()).toBe('ui-test@1.0.0');
    await shot('releases');
  });

  it('shows outcomes', async () => {
    await page.goto(`${server.url}/projects/web-shop/outcomes`);
    expect(await page.locator('h1').textContent()).toBe('Outcomes');
    await shot('outcomes');
  });

  it('ran no script from any page', () => {
    expect(dialogs).toEqual([]);
    expect(consoleLines.filter((l) => /XSS-RAN|Content Security Policy/.test(l))).toEqual([]);
  });
});
