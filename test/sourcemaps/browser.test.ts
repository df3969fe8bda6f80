import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshDatabase, type TestDatabase } from '../helpers/db.js';
import { cli, startServer, type RunningServer } from '../helpers/server.js';
import { PACKAGE_ROOT } from '../../src/paths.js';
// @ts-expect-error the build script of the test app is plain JavaScript
import { buildApp } from './app/build.mjs';
import { until } from '../helpers/poll.js';
import { sentryCli } from './tools.js';

// Source maps of a web app, with real parts only: the app in ./app (src/browser-main.js, with
// @sentry/browser bundled in) is bundled and minified by esbuild, its debug ids injected and its files
// uploaded by the real `sentry-cli sourcemaps inject` + `sourcemaps upload`, served by a small HTTP
// server (without its .map, as production sites do) and loaded in Debian's headless Chromium; the
// error @sentry/browser sends is read back through the API with original files, lines, functions and
// the context lines the browser SDK never sends. A second build minified differently and sent before
// its upload is shown symbolicated once its map is there. A third, without debug ids, has its files
// posted to the organization's release files (the flow of sentry-cli 1.x without a project): the
// errors of two projects with that release are symbolicated by them.

let db: TestDatabase;
let server: RunningServer;
let site: Server;
let siteUrl: string;
let browser: Browser;
let token: string;
let dsn: string;
let adminDsn: string;
const work = join(PACKAGE_ROOT, 'node_modules', '.cache', `cc-sourcemaps-browser-${randomBytes(4).toString('hex')}`);


/** sentry-cli as this test's uploader */
const sentry = (args: string[]) => sentryCli({ url: server.url, token, project: 'web' }, args);

async function build(v: 'a' | 'b' | 'c', inject = true): Promise<string> {
  const dir = join(work, v);
  await mkdir(dir, { recursive: true });
  await buildApp(dir, v, 'browser');
  if (inject) expect(await sentry(['sourcemaps', 'inject', dir])).toMatch(/Modified: The following source files have been modified/);
  return dir;
}

/** Loads build `v`'s page in a fresh browser context; returns the id of the event @sentry/browser sent. */
async function loadPage(v: string, release: string, to = dsn): Promise<string> {
  const context = await browser.newContext();
  try {
    const page = await context.newPage();
    const problems: string[] = [];
    page.on('pageerror', (e) => problems.push(e.message));
    await page.goto(`${siteUrl}/${v}/?${new URLSearchParams({ dsn: to, release })}`);
    await page.waitForFunction(() => (window as unknown as { __appDone?: unknown }).__appDone, null, { timeout: 30_000 });
    const done = await page.evaluate(() => (window as unknown as { __appDone: { eventId: string; flushed: boolean } }).__appDone);
    expect(problems).toEqual([]);
    expect(done.flushed).toBe(true);
    return done.eventId;
  } finally {
    await context.close();
  }
}

async function event(id: string, project = 'web'): Promise<any> {
  return until(`event ${id}`, async () => {
    const r = await fetch(`${server.url}/api/0/projects/acme/${project}/events/${id}/`, { headers: { authorization: `Bearer ${token}` } });
    return r.status === 200 ? r.json() : null;
  }, (e) => e !== null);
}

const exception = (ev: any) => ev.entries.find((e: { type: string }) => e.type === 'exception').data.values[0];

beforeAll(async () => {
  db = await freshDatabase();
  const env = { DATABASE_URL: db.url, ORGANIZATION_SLUG: 'acme' };
  await cli(['project', 'create', '--name', 'web', '--platform', 'javascript', '--key', 'd'.repeat(32)], env);
  await cli(['project', 'create', '--name', 'admin', '--platform', 'javascript', '--key', 'e'.repeat(32)], env);
  token = /^([0-9a-f]{64})$/m.exec(await cli(['token', 'create', '--name', 'sourcemaps'], env))![1]!;
  server = await startServer({ ...env, RATE_LIMIT_GLOBAL_PER_SEC: '0', RATE_LIMIT_PER_IP_PER_SEC: '0', RATE_LIMIT_PER_PROJECT_PER_SEC: '0' });
  dsn = `http://${'d'.repeat(32)}@127.0.0.1:${server.port}/1`;
  adminDsn = `http://${'e'.repeat(32)}@127.0.0.1:${server.port}/2`;
  // The web site: /<build>/ is a page loading /<build>/app.js. It runs on "localhost", the server on
  // 127.0.0.1: another origin, as a real site and its error tracker are.
  site = createServer(async (req, res) => {
    const m = /^\/([abc])\/(app\.js)?(?:\?|$)/.exec(req.url ?? '');
    if (!m) return res.writeHead(404).end();
    if (!m[2]) return res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><meta charset="utf-8"><title>shop</title><script src="app.js"></script>');
    try {
      res.writeHead(200, { 'content-type': 'text/javascript' }).end(await readFile(join(work, m[1]!, 'app.js')));
    } catch {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((r) => site.listen(0, '127.0.0.1', r));
  siteUrl = `http://localhost:${(site.address() as AddressInfo).port}`;
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}, 120_000);
afterAll(async () => {
  await browser?.close();
  await new Promise((r) => (site ? site.close(r) : r(null)));
  await server?.stop();
  await db?.drop();
  await rm(work, { recursive: true, force: true });
});

describe('@sentry/browser in headless Chromium, source maps uploaded with sentry-cli', () => {
  let first: any;

  it('shows the error with original files, lines, functions and context lines', async () => {
    const a = await build('a');
    expect(await sentry(['sourcemaps', 'upload', '--release', 'web@1', a])).toMatch(/File processing complete/);
    first = await event(await loadPage('a', 'web@1'));
    const exc = exception(first);
    expect(first.title).toBe('TypeError: card declined for 42');
    const frames = exc.stacktrace.frames as any[];
    const top = frames.at(-1);
    expect(top).toMatchObject({ filename: expect.stringMatching(/src\/cart\.js$/), function: 'chargeCustomerCard', lineNo: 5, colNo: expect.any(Number), inApp: true });
    // the browser SDK sends no source lines: these come from the map's sourcesContent
    expect(top.context.find(([n]: [number]) => n === 5)[1]).toContain('throw new TypeError(`card declined for ${amount}`);');
    expect(top.context.find(([n]: [number]) => n === 3)[1]).toContain('export function chargeCustomerCard(amount) {');
    expect(frames.at(-2)).toMatchObject({ filename: expect.stringMatching(/src\/checkout\.js$/), function: 'checkoutCart', lineNo: 5 });
    expect(frames.at(-3)).toMatchObject({ filename: expect.stringMatching(/src\/browser-main\.js$/), lineNo: 11 });
    // the frames as Chromium reported them: the page's URL, line 1 of a minified file
    const raw = exc.rawStacktrace.frames as any[];
    expect(raw.at(-1)).toMatchObject({ filename: '/a/app.js', absPath: `${siteUrl}/a/app.js`, lineNo: expect.any(Number), colNo: expect.any(Number) });
    expect(raw.at(-1).function).not.toBe('chargeCustomerCard');
    expect(first.errors).toEqual([]);
  }, 180_000);

  it('shows a build minified differently, sent before its upload, symbolicated after it; a later load joins the first build’s issue', async () => {
    const b = await build('b');
    const early = await event(await loadPage('b', 'web@2'));
    const before = exception(early).stacktrace.frames.at(-1);
    expect(before).toMatchObject({ filename: '/b/app.js', absPath: `${siteUrl}/b/app.js` });
    expect(before.function).not.toBe('chargeCustomerCard');
    expect(early.errors).toEqual([expect.objectContaining({ type: 'js_no_source', data: expect.objectContaining({ url: `${siteUrl}/b/app.js` }) })]);
    expect(early.groupID).not.toBe(first.groupID);

    expect(await sentry(['sourcemaps', 'upload', '--release', 'web@2', b])).toMatch(/File processing complete/);
    const after = await event(early.eventID);
    expect(exception(after).stacktrace.frames.at(-1)).toMatchObject({ filename: expect.stringMatching(/src\/cart\.js$/), function: 'chargeCustomerCard', lineNo: 5 });
    expect(exception(after).rawStacktrace.frames.at(-1)).toEqual(before);
    expect(after.errors).toEqual([]);

    // a page load after the upload groups with the first build's issue on arrival
    const late = await event(await loadPage('b', 'web@2'));
    const rawA = exception(first).rawStacktrace.frames.at(-1);
    const rawB = exception(late).rawStacktrace.frames.at(-1);
    expect(`${rawB.lineNo}:${rawB.colNo}`).not.toBe(`${rawA.lineNo}:${rawA.colNo}`);
    expect(late.groupID).toBe(first.groupID);
  }, 180_000);

  it('symbolicates the errors of every project with the release by files posted to the organization', async () => {
    const c = await build('c', false);
    const post = async (name: string, file: string) => {
      const f = new FormData();
      f.append('file', new Blob([await readFile(join(c, file))]), file);
      f.append('name', name);
      return fetch(`${server.url}/api/0/organizations/acme/releases/shared@1/files/`, { method: 'POST', body: f, headers: { authorization: `Bearer ${token}` } });
    };
    const js = await post('~/c/app.js', 'app.js');
    expect(js.status).toBe(201);
    expect(await js.json()).toMatchObject({ name: '~/c/app.js', dist: null, sha1: expect.stringMatching(/^[0-9a-f]{40}$/) });
    expect((await post('~/c/app.js.map', 'app.js.map')).status).toBe(201);
    expect((await post('~/c/app.js', 'app.js')).status).toBe(409);
    const list = async (q = '') => {
      const r = await fetch(`${server.url}/api/0/organizations/acme/releases/shared@1/files/${q}`, { headers: { authorization: `Bearer ${token}` } });
      return ((await r.json()) as { name: string }[]).map((f) => f.name);
    };
    expect(await list()).toEqual(['~/c/app.js', '~/c/app.js.map']);
    // Sentry's filters: exact checksums (what sentry-cli asks before uploading), parts of names
    const sha1 = createHash('sha1').update(await readFile(join(c, 'app.js'))).digest('hex');
    expect(await list(`?checksum=${sha1}&checksum=${'0'.repeat(40)}`)).toEqual(['~/c/app.js']);
    expect(await list('?query=.map')).toEqual(['~/c/app.js.map']);
    // not a project's files: the project's own list stays empty
    const own = await fetch(`${server.url}/api/0/projects/acme/web/releases/shared@1/files/`, { headers: { authorization: `Bearer ${token}` } });
    expect(await own.json()).toEqual([]);

    for (const [project, to] of [['web', dsn], ['admin', adminDsn]] as const) {
      const ev = await event(await loadPage('c', 'shared@1', to), project);
      expect(exception(ev).stacktrace.frames.at(-1), project).toMatchObject({ filename: expect.stringMatching(/src\/cart\.js$/), function: 'chargeCustomerCard', lineNo: 5 });
      expect(exception(ev).rawStacktrace.frames.at(-1)).toMatchObject({ absPath: `${siteUrl}/c/app.js` });
      expect(ev.errors).toEqual([]);
    }
    // another release of the same page: the organization's files are not for it
    const other = await event(await loadPage('c', 'shared@2', adminDsn), 'admin');
    expect(exception(other).stacktrace.frames.at(-1)).toMatchObject({ absPath: `${siteUrl}/c/app.js` });
    expect(exception(other).rawStacktrace).toBeNull();
  }, 180_000);
});
