// The source-map cells (issue #17), for @sentry/node and @sentry/browser, with real tools only: the app in
// apps/sourcemaps/ is bundled and minified by esbuild, its debug ids injected and its files uploaded by
// the real `sentry-cli sourcemaps inject` + `sourcemaps upload` (chunk-upload, artifactbundle/assemble),
// then run — by node, or as a page in headless Chromium served from http://localhost (without its .map,
// as production sites are) — and its event read back by the checks (checks.mjs).
//   sourcemap          one build, uploaded, then its error
//   sourcemap_grouping two builds minified differently, each uploaded under its release, one error each
//   sourcemap_late     the error first, read back as sent (the map is not there), then the upload
//   sourcemap_plugin   built with the official esbuild bundler plugin, which injects and uploads itself
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { buildApp } from '../apps/sourcemaps/build.mjs';
import { entry, eventually, expect } from './api.mjs';

const execFileP = promisify(execFile);

export const SOURCEMAP_FEATURES = new Set(['sourcemap', 'sourcemap_grouping', 'sourcemap_late', 'sourcemap_plugin']);
export const SOURCEMAP_SDKS = new Set(['node', 'browser']);

export async function startSourcemapRunner(root, { serverUrl, token, api, browser }) {
  // Under the project's node_modules: the node bundle's `import '@sentry/node'` resolves from there.
  const work = join(root, 'node_modules', '.cache', `conformance-sourcemaps-${randomBytes(4).toString('hex')}`);
  const sentryCli = join(root, 'node_modules', '@sentry', 'cli', 'bin', 'sentry-cli');
  // The web site of the browser builds: /<build>/ is a page loading /<build>/app.js.
  const site = createServer((req, res) => {
    const m = /^\/([\w-]+)\/(app\.js)?(?:\?|$)/.exec(req.url ?? '');
    if (!m) return res.writeHead(404).end();
    if (!m[2]) return res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><meta charset="utf-8"><title>conformance</title><script src="app.js"></script>');
    try {
      res.writeHead(200, { 'content-type': 'text/javascript' }).end(readFileSync(join(work, m[1], 'app.js')));
    } catch {
      res.writeHead(404).end();
    }
  });
  await new Promise((r) => site.listen(0, '127.0.0.1', r));
  const siteUrl = `http://localhost:${site.address().port}`;

  async function cli(args, project) {
    try {
      const { stdout, stderr } = await execFileP(sentryCli, args, {
        env: { ...process.env, SENTRY_URL: serverUrl, SENTRY_AUTH_TOKEN: token, SENTRY_ORG: api.org, SENTRY_PROJECT: project, SENTRY_LOAD_DOTENV: '0', SENTRY_DISABLE_UPDATE_CHECK: '1' },
        timeout: 90_000,
      });
      return `${stdout}${stderr}`;
    } catch (e) {
      throw new Error(`sentry-cli ${args.slice(0, 2).join(' ')} exited with ${e.code}: ${`${e.stdout ?? ''}${e.stderr ?? ''}`.trim().slice(-300)}`);
    }
  }

  /** Builds, injects; returns the build's name (its folder under `work`, its path on the site). */
  async function build(j, variant) {
    const name = `${j.cell}-${variant}`;
    mkdirSync(join(work, name), { recursive: true });
    await buildApp(join(work, name), variant, j.sdk.id === 'browser' ? 'browser' : 'node');
    await cli(['sourcemaps', 'inject', join(work, name)], j.project.slug);
    return name;
  }

  /** Builds with the bundler plugin, which injects debug ids and uploads the bundle (a process of its own). */
  async function buildWithPlugin(j, release) {
    const name = `${j.cell}-plugin`;
    mkdirSync(join(work, name), { recursive: true });
    const script = join(root, 'conformance', 'apps', 'sourcemaps', 'build-with-plugin.mjs');
    try {
      await execFileP(process.execPath, [script, j.sdk.id === 'browser' ? 'browser' : 'node', serverUrl, token, api.org, j.project.slug, release, join(work, name)], { timeout: 120_000 });
    } catch (e) {
      throw new Error(`the esbuild plugin's build exited with ${e.code}: ${`${e.stdout ?? ''}${e.stderr ?? ''}`.trim().slice(-300)}`);
    }
    return name;
  }

  async function upload(j, name, release) {
    const out = await cli(['sourcemaps', 'upload', '--release', release, join(work, name)], j.project.slug);
    if (!/File processing complete|Nothing to upload/.test(out)) throw new Error(`sentry-cli sourcemaps upload did not complete: ${out.trim().slice(-300)}`);
  }

  /** Runs the build; its output ends with `event_id=<id>`. */
  async function send(j, name, release) {
    if (j.sdk.id === 'browser') {
      return browser.load(`${siteUrl}/${name}/?${new URLSearchParams({ dsn: j.env.SENTRY_DSN, release, marker: j.env.CC_MARKER })}`);
    }
    try {
      const { stdout, stderr } = await execFileP(process.execPath, [join(work, name, 'app.js')], { env: { ...process.env, ...j.env, CC_RELEASE: release }, timeout: 60_000 });
      return { code: 0, output: `${stdout}${stderr}`.trim() };
    } catch (e) {
      return { code: e.code ?? 1, output: `${e.stdout ?? ''}${e.stderr ?? ''}`.trim() };
    }
  }
  const idOf = (r) => [...r.output.matchAll(/event_id=([0-9a-f-]{32,36})/g)].at(-1)?.[1]?.replace(/-/g, '');

  return {
    /** One cell's run: { code, output, events: [ids], before? } — `before` is the late cell's event as first read. */
    async run(j) {
      try {
        const release = `${j.env.CC_RELEASE}-${j.feature}`;
        if (j.feature === 'sourcemap') {
          const a = await build(j, 'a');
          await upload(j, a, release);
          const r = await send(j, a, release);
          return { ...r, events: [idOf(r)] };
        }
        if (j.feature === 'sourcemap_plugin') {
          const p = await buildWithPlugin(j, release);
          const r = await send(j, p, release);
          return { ...r, events: [idOf(r)] };
        }
        if (j.feature === 'sourcemap_grouping') {
          const a = await build(j, 'a');
          const b = await build(j, 'b');
          await upload(j, a, `${release}-a`);
          await upload(j, b, `${release}-b`);
          const ra = await send(j, a, `${release}-a`);
          const rb = await send(j, b, `${release}-b`);
          return { code: ra.code || rb.code, output: `${ra.output}\n${rb.output}`, events: [idOf(ra), idOf(rb)] };
        }
        // sourcemap_late: a build of its own (variant c: its debug id is in no other cell's upload)
        const c = await build(j, 'c');
        const r = await send(j, c, release);
        const id = idOf(r);
        if (!id) return { ...r, events: [] };
        const before = await eventually(() => api.get(`/projects/${api.org}/${j.project.slug}/events/${id}/`), 60_000);
        await upload(j, c, release);
        return { ...r, events: [id], before };
      } catch (e) {
        return { code: 1, output: e.message, events: [] };
      }
    },
    async close() {
      await new Promise((r) => site.close(() => r()));
      rmSync(work, { recursive: true, force: true });
    },
  };
}

// --- checks ---

const topFrame = (frames) => frames?.at(-1);
const exceptionOf = (ev) => entry(ev, 'exception')?.values?.at(-1);

async function eventOf(cx, id) {
  expect(id, 'the app printed no event id');
  return cx.api.get(`/projects/${cx.api.org}/${cx.project}/events/${id}/`);
}

/** The event's frames are the original code: src/cart.js line 5 in chargeCustomerCard, with its source line. */
function checkSymbolicated(ev) {
  const exc = exceptionOf(ev);
  const top = topFrame(exc?.stacktrace?.frames);
  expect(top, 'the event has no exception frames');
  const where = `${top.filename}:${top.lineNo} in ${top.function}`;
  expect(/(^|\/)src\/cart\.js$/.test(String(top.filename)) && top.lineNo === 5 && top.function === 'chargeCustomerCard', `the top frame is ${where}, not src/cart.js:5 in chargeCustomerCard`);
  const line = (top.context ?? []).find(([n]) => n === 5)?.[1] ?? '';
  expect(line.includes('throw new TypeError('), `src/cart.js:5 has no source context (${JSON.stringify(line)})`);
  const caller = exc.stacktrace.frames.at(-2);
  expect(caller?.function === 'checkoutCart' && /src\/checkout\.js$/.test(String(caller.filename)), `the caller is ${caller?.filename} in ${caller?.function}, not src/checkout.js in checkoutCart`);
  const raw = topFrame(exc.rawStacktrace?.frames);
  expect(raw && raw.function !== 'chargeCustomerCard' && /app\.js$/.test(String(raw.filename)), 'the minified frame as sent is not kept (rawStacktrace)');
  expect((ev.errors ?? []).length === 0, `processing errors: ${JSON.stringify(ev.errors)}`);
  return exc;
}

export const SOURCEMAP_CHECKS = {
  async sourcemap(cx) {
    return eventually(async () => {
      checkSymbolicated(await eventOf(cx, cx.events[0]));
      return 'minified by esbuild, debug ids injected and uploaded by sentry-cli: the top frame reads back as src/cart.js:5 in chargeCustomerCard, the caller src/checkout.js in checkoutCart, with source lines from the map; the minified frame kept as rawStacktrace';
    });
  },
  async sourcemap_grouping(cx) {
    return eventually(async () => {
      const [a, b] = [await eventOf(cx, cx.events[0]), await eventOf(cx, cx.events[1])];
      const [ra, rb] = [topFrame(checkSymbolicated(a).rawStacktrace.frames), topFrame(checkSymbolicated(b).rawStacktrace.frames)];
      expect(`${ra.lineNo}:${ra.colNo}` !== `${rb.lineNo}:${rb.colNo}`, 'the two builds were not minified differently');
      expect(a.groupID === b.groupID, `two builds of the same source are in two issues (${a.groupID}, ${b.groupID})`);
      return 'two builds minified differently (other lines and columns), of two releases, each uploaded: both events in one issue';
    });
  },
  async sourcemap_plugin(cx) {
    return eventually(async () => {
      checkSymbolicated(await eventOf(cx, cx.events[0]));
      return 'built by esbuild with the official bundler plugin (@sentry/bundler-plugins), which injected debug ids and uploaded the bundle itself: read back as src/cart.js:5 in chargeCustomerCard with source lines';
    });
  },
  async sourcemap_late(cx) {
    const before = cx.before;
    expect(before, 'the event sent before the upload was not read back');
    const sent = topFrame(exceptionOf(before)?.stacktrace?.frames);
    expect(sent && sent.function !== 'chargeCustomerCard' && /app\.js$/.test(String(sent.filename)), `before the upload the frame already read ${sent?.filename} in ${sent?.function}`);
    expect((before.errors ?? []).some((e) => e.type === 'js_no_source'), `before the upload the event has no js_no_source error (${JSON.stringify(before.errors)})`);
    return eventually(async () => {
      checkSymbolicated(await eventOf(cx, cx.events[0]));
      return 'before the upload: the minified frame as sent, with a js_no_source processing error; after it, the same event reads back as src/cart.js:5 in chargeCustomerCard with source lines';
    });
  },
};
