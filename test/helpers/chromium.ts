import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

// Debian's headless Chromium through playwright-core, as every browser test starts it: a throwaway
// profile, no sandbox (CI runs as root), nothing talking to Google's services.

export interface Chromium {
  context: BrowserContext;
  page: Page;
  close(): Promise<void>;
}

export async function openChromium(): Promise<Chromium> {
  const profileDir = mkdtempSync(join(tmpdir(), 'crash-cache-chromium-'));
  const context = await chromium.launchPersistentContext(profileDir, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const page = context.pages()[0] ?? (await context.newPage());
  return {
    context,
    page,
    async close() {
      await context.close();
      rmSync(profileDir, { recursive: true, force: true });
    },
  };
}
