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
    await shot('projects');
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
