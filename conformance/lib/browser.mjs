// Runs the browser app (conformance/apps/browser/app.js) in Debian's headless Chromium through
// playwright-core. The page is served from http://localhost:<port> while the SDK sends to
// http://127.0.0.1:<proxy>: a cross-origin setup, as on a real site. @sentry/browser's ES modules are
// served unbundled from conformance/.cache/npm with an import map built from their package.json exports.
import { createServer } from 'node:http';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, normalize } from 'node:path';

const CONDITIONS = ['browser', 'production', 'import', 'default'];

function pick(target) {
  if (typeof target === 'string') return target;
  if (!target || typeof target !== 'object') return null;
  for (const c of CONDITIONS) if (c in target) {
    const r = pick(target[c]);
    if (r) return r;
  }
  return null;
}

function resolveSpecifier(modules, spec) {
  const parts = spec.split('/');
  const name = spec.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
  const sub = spec.slice(name.length);
  const pkg = JSON.parse(readFileSync(join(modules, name, 'package.json'), 'utf8'));
  let rel;
  if (pkg.exports) {
    const exp = typeof pkg.exports === 'string' || !Object.keys(pkg.exports).some((k) => k.startsWith('.')) ? { '.': pkg.exports } : pkg.exports;
    rel = pick(exp[`.${sub}`]);
  } else rel = sub ? `.${sub}` : pkg.module ?? pkg.main;
  return rel ? `/m/${name}/${rel.replace(/^\.\//, '')}` : null;
}

function walk(dir, acc = []) {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) walk(p, acc);
    else if (/\.m?js$/.test(e.name) && !p.includes('/cjs/')) acc.push(p);
  }
  return acc;
}

function importMap(modules) {
  const specs = new Set(['@sentry/browser']);
  const re = /(?:from|import)\s*\(?\s*['"]((?:@[\w.-]+\/)?[\w.-]+(?:\/[\w./-]+)?)['"]/g;
  for (const dir of ['@sentry', 'web-vitals']) {
    for (const f of walk(join(modules, dir))) {
      for (const m of readFileSync(f, 'utf8').matchAll(re)) if (!m[1].startsWith('.')) specs.add(m[1]);
    }
  }
  const imports = {};
  for (const s of specs) {
    try {
      const r = resolveSpecifier(modules, s);
      if (r) imports[s] = r;
    } catch {
      /* an optional peer that is not installed (e.g. @sentry/node in a comment): leave unmapped */
    }
  }
  return { imports };
}

export async function startBrowserRunner(root) {
  const modules = join(root, 'conformance/.cache/npm/node_modules');
  const appJs = join(root, 'conformance/apps/browser/app.js');
  const map = JSON.stringify(importMap(modules));
  const html = `<!doctype html><html><head><meta charset="utf-8"><title>conformance</title>
<script type="importmap">${map}</script></head><body><h1>crash-cache conformance</h1>
<script type="module" src="/app.js"></script></body></html>`;
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    try {
      if (path === '/') return res.writeHead(200, { 'content-type': 'text/html' }).end(html);
      if (path === '/app.js') return res.writeHead(200, { 'content-type': 'text/javascript' }).end(readFileSync(appJs));
      if (path.startsWith('/m/')) {
        const file = normalize(join(modules, decodeURIComponent(path.slice(3))));
        if (file.startsWith(modules) && statSync(file).isFile()) {
          return res.writeHead(200, { 'content-type': 'text/javascript' }).end(readFileSync(file));
        }
      }
    } catch {
      /* fall through to 404 */
    }
    res.writeHead(404).end();
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const pagePort = server.address().port;
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
  /** Loads `url` in a fresh context until the page sets window.__ccDone; its event id as `event_id=…`. */
  async function load(url) {
    const context = await browser.newContext();
    const page = await context.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
    try {
      await page.goto(url);
      await page.waitForFunction(() => window.__ccDone, null, { timeout: 30_000 });
      const done = await page.evaluate(() => window.__ccDone);
      const id = await page.evaluate(() => window.__ccEventId ?? '');
      if (id) errors.push(`event_id=${id}`);
      const unexpected = errors.filter((e) => !e.includes(`conformance unhandled`));
      return { code: done === 'ok' ? 0 : 1, output: [done, ...unexpected].join('\n') };
    } catch (e) {
      return { code: 1, output: [e.message, ...errors].join('\n') };
    } finally {
      await context.close();
    }
  }
  return {
    run(scenario, env) {
      const q = new URLSearchParams({ scenario, dsn: env.SENTRY_DSN, marker: env.CC_MARKER, release: env.CC_RELEASE });
      return load(`http://localhost:${pagePort}/?${q}`);
    },
    // Another page (the source-map cells serve their own bundles), same protocol as app.js.
    load,
    async close() {
      await browser.close();
      await new Promise((r) => server.close(() => r()));
    },
  };
}
