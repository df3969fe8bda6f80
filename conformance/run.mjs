#!/usr/bin/env node
// The SDK conformance suite (issue #10): starts the built server on an embedded PostgreSQL in a temp
// DATA_DIR, runs each SDK's small app once per feature through a recording proxy, checks each cell
// through the read API, writes docs/COMPATIBILITY.md and exits non-zero only if a cell fails that is
// not listed in known-failures.mjs, or a listed one passes (the list must be updated).
//   node conformance/run.mjs [--sdk node,python] [--feature handled,message] [--no-write] [--check]
// --check (CI): also exit 1 when the committed docs/COMPATIBILITY.md is not what this run wrote.
// Needs `npm run build` (dist/) and conformance/install.sh (SDKs, toolchains, Chromium).
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { apiClient } from './lib/api.mjs';
import { startBrowserRunner } from './lib/browser.mjs';
import { CHECKS } from './lib/checks.mjs';
import { startProxy } from './lib/proxy.mjs';
import { SOURCEMAP_FEATURES, startSourcemapRunner } from './lib/sourcemaps.mjs';
import { reportText } from './lib/report.mjs';
import { FEATURES, sdks as allSdks } from './lib/sdks.mjs';
import { cli, startServer } from './lib/server.mjs';
import { KNOWN_FAILURES } from './known-failures.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const opt = (name) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
};
const onlySdks = opt('sdk')?.split(',');
const onlyFeatures = opt('feature')?.split(',');
const partial = !!(onlySdks || onlyFeatures);
const write = !args.includes('--no-write') && !partial;
const check = args.includes('--check');
if (check && !write) throw new Error('--check needs a whole run that writes docs/COMPATIBILITY.md');

// Two app processes at once: the machine has 2 cores, and JVM/cargo-built apps start in ~1 s each.
const APP_CONCURRENCY = 2;
const CHECK_CONCURRENCY = 4;

async function pool(items, n, fn) {
  const out = new Array(items.length);
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(n, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i], i);
    }
  }));
  return out;
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

function runApp(cmd, argv, env) {
  return new Promise((resolve) => {
    execFile(cmd, argv, { env: { ...process.env, ...env }, timeout: 90_000, maxBuffer: 4 << 20, cwd: ROOT }, (err, stdout, stderr) => {
      const idLine = [...String(stdout).matchAll(/event_id=\S+/g)].at(-1)?.[0] ?? '';
      resolve({ code: err ? (err.code ?? 1) : 0, output: `${`${stdout}${stderr}`.trim().split('\n').slice(-8).join('\n')}\n${idLine}` });
    });
  });
}

function knownReason(sdk, feature) {
  return KNOWN_FAILURES[`${sdk}:${feature}`] ?? KNOWN_FAILURES[`*:${feature}`];
}

async function main() {
  const t0 = performance.now();
  const runId = randomBytes(3).toString('hex');
  const dataDir = mkdtempSync(join(tmpdir(), 'crash-cache-conformance-'));
  const env = {
    DATA_DIR: dataDir,
    // The suite sends ~100 requests in bursts from one address: rate limits would be the thing tested.
    RATE_LIMIT_GLOBAL_PER_SEC: '0', RATE_LIMIT_PER_IP_PER_SEC: '0', RATE_LIMIT_PER_PROJECT_PER_SEC: '0',
  };
  // A port chosen first, so that PUBLIC_URL is where the server is: the bundler plugin of the source-map
  // cells uploads to the organization's regionUrl (PUBLIC_URL), as it does in production.
  const port = await freePort();
  env.SERVER_PORT = String(port);
  env.PUBLIC_URL = `http://127.0.0.1:${port}`;
  const server = await startServer(ROOT, env);
  const proxy = await startProxy(server.url);
  let browser;
  let sourcemaps;
  try {
    const token = (await cli(ROOT, ['token', 'create', '--name', 'conformance'], env)).trim().split('\n').at(-1).trim();
    const org = process.env.ORGANIZATION_SLUG ?? 'crash-cache';
    const api = apiClient(server.url, token, org);
    const sdks = allSdks(ROOT).filter((s) => !onlySdks || onlySdks.includes(s.id));
    const features = FEATURES.filter(([f]) => !onlyFeatures || onlyFeatures.includes(f));
    const cells = new Map();
    const jobs = [];
    for (const sdk of sdks) {
      sdk.version = await Promise.resolve().then(() => sdk.version()).catch(() => null);
      const missing = sdk.missing();
      const out = await cli(ROOT, ['project', 'create', '--name', `conformance-${sdk.id}`, '--platform', sdk.platform], env);
      const dsn = /DSN: (\S+)/.exec(out)?.[1];
      const m = /Project (\d+) .*\(slug ([^)]+)\)/.exec(out);
      const project = { id: m[1], slug: m[2], dsn };
      // Cells with a project of their own: the rate-limit cell's allows 1 request/s, so no other cell is
      // limited; the transaction cell's stats_v2 counts then hold only its own transaction (browser
      // page loads send transactions in every cell).
      const ownDsn = {};
      for (const [f, limit] of [['ratelimit', '1'], ['transaction', null]]) {
        if (!features.some(([x]) => x === f) || missing || sdk.unsupported[f]) continue;
        const o2 = await cli(ROOT, ['project', 'create', '--name', `conformance-${sdk.id}-${f}`, '--platform', sdk.platform], env);
        const m2 = /Project (\d+) .*\(slug ([^)]+)\)/.exec(o2);
        ownDsn[f] = { id: m2[1], slug: m2[2], dsn: /DSN: (\S+)/.exec(o2)[1] };
        if (limit) await cli(ROOT, ['project', 'update', m2[1], '--rate-limit', limit], env);
      }
      for (const [f] of features) {
        const key = `${sdk.id}:${f}`;
        if (f in sdk.unsupported && sdk.unsupported[f]) {
          cells.set(key, { status: 'unsupported', note: sdk.unsupported[f] });
          continue;
        }
        if (missing) {
          cells.set(key, { status: 'fail', note: missing });
          continue;
        }
        const marker = `m${runId}${randomBytes(4).toString('hex')}`;
        const cell = `${sdk.id}-${f}`;
        jobs.push({
          sdk, feature: f, key, project: ownDsn[f] ?? project, marker,
          env: {
            SENTRY_DSN: proxy.dsnFor(ownDsn[f]?.dsn ?? dsn, cell),
            CC_MARKER: marker,
            CC_RELEASE: f === 'session' || f === 'crash' ? `conformance-${sdk.id}-${f}@${runId}` : `conformance-${sdk.id}@${runId}`,
            CC_MONITOR: `conformance-${sdk.id}-${runId}`,
          },
          cell,
        });
      }
    }
    if (jobs.some((j) => j.sdk.browser)) browser = await startBrowserRunner(ROOT);
    if (jobs.some((j) => SOURCEMAP_FEATURES.has(j.feature))) sourcemaps = await startSourcemapRunner(ROOT, { serverUrl: server.url, token, api, browser });
    process.stdout.write(`running ${jobs.length} SDK app runs against ${server.url} (proxy :${proxy.port})\n`);
    await pool(jobs, APP_CONCURRENCY, async (j) => {
      const t = performance.now();
      j.app = SOURCEMAP_FEATURES.has(j.feature) ? await sourcemaps.run(j)
        : j.sdk.browser ? await browser.run(j.feature, j.env) : await runApp(...j.sdk.command(j.feature), j.env);
      process.stdout.write(`  ran ${j.key} (${((performance.now() - t) / 1000).toFixed(1)} s, exit ${j.app.code})\n`);
    });
    await pool(jobs, CHECK_CONCURRENCY, async (j) => {
      const records = proxy.records.filter((r) => r.cell === j.cell);
      const eventId = [...j.app.output.matchAll(/event_id=([0-9a-f-]{32,36})/g)].at(-1)?.[1]?.replace(/-/g, '');
      const cx = { api, eventId, sdk: j.sdk, project: j.project.slug, projectId: j.project.id, marker: j.marker, release: j.env.CC_RELEASE, monitor: j.env.CC_MONITOR, records, events: j.app.events, before: j.app.before };
      try {
        // the cell's marker, also where a note cut it short (titles are shown up to 60 characters):
        // the whole marker, or a prefix of it that ends a quoted title
        const prefixes = Array.from({ length: j.marker.length - 2 }, (_, k) => j.marker.slice(0, j.marker.length - 1 - k));
        const note = String((await CHECKS[j.feature](cx)) ?? '')
          .replaceAll(j.marker, '<marker>')
          .replace(new RegExp(`(?<=\\s)(?:${prefixes.join('|')})(?=")`, 'g'), '<marker>');
        cells.set(j.key, { status: 'pass', note });
      } catch (e) {
        const refused = records.filter((r) => r.status >= 400).map((r) => `${r.method} ${r.path} → ${r.status}`);
        const sent = records.length
          ? ` [SDK sent ${records.length} request(s): ${records.map((r) => `${r.items.join('+') || r.method} → ${r.status}`).join(', ')}]`
          : ' The SDK sent nothing.';
        const appOut = j.app.code !== 0 && j.feature !== 'unhandled' ? ` App exit ${j.app.code}: ${j.app.output.slice(-300)}` : '';
        cells.set(j.key, { status: 'fail', note: `${e.message}${refused.length ? ` (server refused: ${refused.join('; ')})` : ''}${sent}${appOut}` });
      }
    });
    if (server.exited !== null) {
      // Every cell would fail for the same reason: say it once and keep the last good matrix.
      process.stdout.write(`the server died during the run (exit ${server.exited}); its last log lines:\n${server.logs.slice(-30).join('\n')}\n`);
      process.exitCode = 2;
      return;
    }
    // What each SDK's transport looked like on the wire, for the matrix's details.
    for (const sdk of sdks) {
      const recs = proxy.records.filter((r) => r.cell?.startsWith(`${sdk.id}-`) && r.method === 'POST');
      if (!recs.length) continue;
      // sorted: requests arrive in an order that differs from run to run
      const set = (xs) => [...new Set(xs)].sort().join(', ');
      const endpoints = set(recs.map((r) => r.path.replace(/^\/api\/\d+/, '')));
      const encodings = set(recs.map((r) => r.encoding || 'identity'));
      const types = set(recs.map((r) => r.contentType || '(none)'));
      const items = set(recs.flatMap((r) => r.items));
      sdk.transport = `endpoints ${endpoints}; Content-Encoding ${encodings}; Content-Type ${types}; items ${items}`;
    }

    let unexpected = 0;
    let newlyPassing = 0;
    const summary = { pass: 0, fail: 0, unsupported: 0 };
    for (const [key, c] of cells) {
      const [sdkId, f] = key.split(':');
      summary[c.status]++;
      const known = knownReason(sdkId, f);
      if (c.status === 'fail' && known) c.known = known;
      if (c.status === 'fail' && !known) {
        unexpected++;
        process.stdout.write(`FAIL ${key}: ${c.note}\n`);
      } else if (c.status === 'fail') process.stdout.write(`known failure ${key}: ${c.note}\n`);
      else if (c.status === 'pass' && partial && !known) process.stdout.write(`pass ${key}: ${c.note}\n`);
      else if (c.status === 'pass' && known) {
        // A fixed cell must leave the list, or a later regression of it would pass unnoticed.
        newlyPassing++;
        process.stdout.write(`PASSING ${key}, listed in known-failures.mjs: remove it from the list (${c.note})\n`);
      }
    }
    const seconds = (performance.now() - t0) / 1000;
    let stale = false;
    if (write) {
      const version = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version;
      const path = join(ROOT, 'docs/COMPATIBILITY.md');
      const before = existsSync(path) ? readFileSync(path, 'utf8') : '';
      const text = reportText({ sdks, features, cells, serverVersion: version });
      writeFileSync(path, text);
      stale = before !== text;
      process.stdout.write(`wrote docs/COMPATIBILITY.md${stale ? ' (changed)' : ' (unchanged)'}\n`);
      if (stale && check) {
        const a = before.split('\n');
        const b = text.split('\n');
        for (let i = 0, shown = 0; i < Math.max(a.length, b.length) && shown < 20; i++) {
          if (a[i] === b[i]) continue;
          shown++;
          process.stdout.write(`  line ${i + 1}\n  - ${a[i] ?? '(none)'}\n  + ${b[i] ?? '(none)'}\n`);
        }
        process.stdout.write('FAIL docs/COMPATIBILITY.md as committed is not what this run produced: commit the regenerated file\n');
      }
    }
    const passedOrKnown = summary.pass + summary.fail - unexpected;
    process.stdout.write(`conformance: ${summary.pass} cells pass, ${summary.fail} fail (${summary.fail - unexpected} known), ${summary.unsupported} not supported by the SDK; ${seconds.toFixed(0)} s\n`);
    // The plain closing line CI reads: cells that met expectations vs. cells that did not.
    process.stdout.write(`${passedOrKnown - newlyPassing} passed, ${unexpected + newlyPassing} failed${newlyPassing ? ` (${newlyPassing} listed as known failures but passing)` : ''}\n`);
    process.exitCode = unexpected || newlyPassing || (check && stale) ? 1 : 0;
  } finally {
    await sourcemaps?.close().catch(() => {});
    await browser?.close().catch(() => {});
    await proxy.close();
    await server.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 2;
});
