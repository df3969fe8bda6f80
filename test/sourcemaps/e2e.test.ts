import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshDatabase, type TestDatabase } from '../helpers/db.js';
import { cli, startServer, type RunningServer } from '../helpers/server.js';
import { PACKAGE_ROOT } from '../../src/paths.js';
// @ts-expect-error the build script of the test app is plain JavaScript
import { buildApp } from './app/build.mjs';
import { until } from '../helpers/poll.js';
import { sentryCli } from './tools.js';

const run = promisify(execFile);

// Source maps end to end with real tools only: the app in ./app is bundled and minified by esbuild,
// its debug ids injected and its files uploaded by the real `sentry-cli sourcemaps inject` and
// `sourcemaps upload` (which use chunk-upload and artifactbundle/assemble), its error sent by the
// real @sentry/node, and the event read back through the API with original files, lines, functions
// and context. Two builds minified differently group into one issue; an event sent before its
// upload is shown symbolicated after it, and ruminate then groups it with the others.

let db: TestDatabase;
let server: RunningServer;
let token: string;
/** what sentry-cli and the bundler plugin upload with: only the scopes Sentry's docs ask for */
let uploadToken: string;
let dsn: string;
// Under node_modules so that the bundle's `import '@sentry/node'` resolves; outside git.
const work = join(PACKAGE_ROOT, 'node_modules', '.cache', `cc-sourcemaps-${randomBytes(4).toString('hex')}`);

async function api<T = any>(path: string): Promise<T> {
  const r = await fetch(server.url + path, { headers: { authorization: `Bearer ${token}` } });
  expect(r.status, path).toBe(200);
  return (await r.json()) as T;
}


/** sentry-cli as this test's uploader */
const sentry = (args: string[]) => sentryCli({ url: server.url, token: uploadToken, project: 'shop' }, args);

/** Builds variant `v` into its own folder and injects debug ids; returns the folder. */
async function build(name: string, v: 'a' | 'b'): Promise<string> {
  const dir = join(work, name);
  await mkdir(dir, { recursive: true });
  await buildApp(dir, v);
  expect(await sentry(['sourcemaps', 'inject', dir])).toMatch(/Modified: The following source files have been modified/);
  return dir;
}

async function upload(dir: string, release: string): Promise<string> {
  return sentry(['sourcemaps', 'upload', '--release', release, dir]);
}

async function sendFrom(dir: string, release: string): Promise<string> {
  const { stdout } = await run(process.execPath, [join(dir, 'app.js')], { env: { ...process.env, DSN: dsn, RELEASE: release }, timeout: 30_000 });
  const out = JSON.parse(stdout.trim().split('\n').pop()!) as { eventId: string; flushed: boolean };
  expect(out.flushed).toBe(true);
  return out.eventId;
}

async function event(id: string): Promise<any> {
  return until(`event ${id}`, async () => {
    const r = await fetch(`${server.url}/api/0/projects/acme/shop/events/${id}/`, { headers: { authorization: `Bearer ${token}` } });
    return r.status === 200 ? r.json() : null;
  }, (e) => e !== null);
}

const exception = (ev: any) => ev.entries.find((e: { type: string }) => e.type === 'exception').data.values[0];

beforeAll(async () => {
  db = await freshDatabase();
  const env = { DATABASE_URL: db.url, ORGANIZATION_SLUG: 'acme' };
  await cli(['project', 'create', '--name', 'shop', '--platform', 'node', '--key', 'c'.repeat(32)], env);
  token = /^([0-9a-f]{64})$/m.exec(await cli(['token', 'create', '--name', 'sourcemaps'], env))![1]!;
  uploadToken = /^([0-9a-f]{64})$/m.exec(await cli(['token', 'create', '--name', 'ci-upload', '--scopes', 'project:releases,org:read'], env))![1]!;
  // A fixed port, so that PUBLIC_URL is where the server really is: the bundler plugin's uploader goes to
  // the organization's regionUrl (PUBLIC_URL), as it would in production.
  const port = await new Promise<number>((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as AddressInfo).port;
      s.close(() => resolve(p));
    });
  });
  server = await startServer({ ...env, SERVER_PORT: String(port), PUBLIC_URL: `http://127.0.0.1:${port}`, RATE_LIMIT_GLOBAL_PER_SEC: '0', RATE_LIMIT_PER_IP_PER_SEC: '0', RATE_LIMIT_PER_PROJECT_PER_SEC: '0' });
  dsn = `http://${'c'.repeat(32)}@127.0.0.1:${server.port}/1`;
});
afterAll(async () => {
  if (process.env.API_TEST_LOGS) console.log(server?.logs.filter((l) => /"level":"(warn|error)"/.test(l)).join('\n'));
  await server?.stop();
  await db?.drop();
  await rm(work, { recursive: true, force: true });
});

describe('sentry-cli sourcemaps upload, then @sentry/node errors', () => {
  let first: any;
  let a: string;

  it('uploads a bundle through chunk-upload and assemble', async () => {
    a = await build('a', 'a');
    const out = await upload(a, 'shop@1');
    expect(out).toMatch(/File processing complete/);
    const { rows } = await db.pool.query(`SELECT b.state, b.release, f.kind, f.url, f.debug_id IS NOT NULL AS has_debug_id
      FROM artifact_bundle b JOIN artifact_file f ON f.bundle_id = b.id ORDER BY f.url`);
    expect(rows).toEqual([
      { state: 'ok', release: 'shop@1', kind: 'minified_source', url: '~/app.js', has_debug_id: true },
      { state: 'ok', release: 'shop@1', kind: 'source_map', url: '~/app.js.map', has_debug_id: true },
    ]);
    // Again: nothing to upload, the bundle is known.
    expect(await upload(a, 'shop@1')).toMatch(/Nothing to upload|File processing complete/);
  });

  it('shows the error with original files, lines, functions and context; the minified frame stays as raw', async () => {
    first = await event(await sendFrom(a, 'shop@1'));
    const exc = exception(first);
    const frames = exc.stacktrace.frames as any[];
    const top = frames[frames.length - 1];
    expect(top).toMatchObject({ filename: expect.stringMatching(/src\/cart\.js$/), function: 'chargeCustomerCard', lineNo: 5, inApp: true });
    expect(top.context.find(([n]: [number]) => n === 5)[1]).toContain('throw new TypeError(`card declined for ${amount}`);');
    expect(frames[frames.length - 2]).toMatchObject({ filename: expect.stringMatching(/src\/checkout\.js$/), function: 'checkoutCart', lineNo: 5 });
    const raw = exc.rawStacktrace.frames as any[];
    expect(raw[raw.length - 1]).toMatchObject({ filename: expect.stringMatching(/\/a\/app\.js$/), lineNo: expect.any(Number), colNo: expect.any(Number) });
    expect(raw[raw.length - 1].function).not.toBe('chargeCustomerCard');
    expect(first.errors).toEqual([]);
    expect(first.title).toBe('TypeError: card declined for 42');
  });

  it('groups a second build, minified differently and of another release, into the same issue', async () => {
    const b = await build('b', 'b');
    await upload(b, 'shop@2');
    const second = await event(await sendFrom(b, 'shop@2'));
    const raw = exception(second).rawStacktrace.frames as any[];
    const rawA = exception(first).rawStacktrace.frames as any[];
    const at = (f: any) => `${f.lineNo}:${f.colNo}`;
    expect(at(raw[raw.length - 1])).not.toBe(at(rawA[rawA.length - 1]));
    expect(exception(second).stacktrace.frames.at(-1)).toMatchObject({ function: 'chargeCustomerCard', lineNo: 5 });
    expect(second.groupID).toBe(first.groupID);
  });

  it('shows an event sent before its upload symbolicated once the map is there; ruminate regroups it', async () => {
    const c = await build('c', 'c');
    const early = await event(await sendFrom(c, 'shop@3'));
    const before = exception(early).stacktrace.frames.at(-1);
    expect(before.function).not.toBe('chargeCustomerCard');
    expect(before.filename).toMatch(/\/c\/app\.js$/);
    // the debug id is in the event, no bundle has it yet: said on the event, frames as sent
    expect(early.errors).toEqual([{ type: 'js_no_source', message: 'Source code was not found', data: expect.objectContaining({ url: before.filename, debug_id: expect.stringMatching(/^[0-9a-f-]{36}$/) }) }]);
    expect(exception(early).rawStacktrace).toBeNull();
    expect(early.groupID).not.toBe(first.groupID);

    await upload(c, 'shop@3');
    const after = await event(early.eventID);
    expect(exception(after).stacktrace.frames.at(-1)).toMatchObject({ function: 'chargeCustomerCard', lineNo: 5, filename: expect.stringMatching(/src\/cart\.js$/) });
    expect(exception(after).rawStacktrace.frames.at(-1)).toEqual(before);
    expect(after.errors).toEqual([]);

    // ruminate digests the archive again, now with the map: the early event joins the issue of the others
    await cli(['ruminate', '--yes'], { DATABASE_URL: db.url, ORGANIZATION_SLUG: 'acme' });
    // (the whole archive is digested again: up to 2 min on a loaded 2-core machine)
    const regrouped = await until('the early event regrouped', () => event(early.eventID), (e) => e.groupID === first.groupID, 120_000);
    expect(regrouped.groupID).toBe(first.groupID);
    const issues = await api<{ id: string; count: string }[]>('/api/0/projects/acme/shop/issues/');
    expect(issues.map((i) => [i.id, i.count])).toEqual([[first.groupID, '3']]);
  }, 240_000);

  it('takes the upload of the official bundler plugin (esbuild) as well', async () => {
    const dir = join(work, 'plugin');
    await mkdir(dir, { recursive: true });
    const { stdout, stderr } = await run(process.execPath, [join(PACKAGE_ROOT, 'test', 'sourcemaps', 'app', 'build-with-plugin.mjs'), server.url, uploadToken, dir], { timeout: 120_000 });
    if (process.env.PLUGIN_DEBUG) console.log(stdout, stderr);
    const ev = await event(await sendFrom(dir, 'shop@plugin'));
    expect(exception(ev).stacktrace.frames.at(-1), stdout + stderr).toMatchObject({ function: 'chargeCustomerCard', lineNo: 5, filename: expect.stringMatching(/src\/cart\.js$/) });
    expect(ev.errors).toEqual([]);
  }, 180_000);
});
