import { cpus } from 'node:os';
import type { BenchContext } from './context.js';
import { openBenchPg } from './db.js';
import { parseOptions } from './options.js';
import { runCeiling, runIngest, type CeilingResult, type IngestResult } from './phase-ingest.js';
import { runDigest, type DigestResult } from './phase-digest.js';
import { prepareJsMix, uploadJsBundle } from './js-mix.js';
import { runLatency, type LatencyResult } from './phase-latency.js';
import { runDisk, type DiskResult } from './phase-disk.js';
import { runQuery, type QueryResult } from './phase-query.js';
import { runProfile, type ProfileResult } from './profile.js';
import { runHostile, type HostileResult } from './micro/hostile-events.js';
import { runSoak, type SoakResult } from './phase-soak.js';
import { runDefault, type DefaultResult } from './phase-default.js';
import { runBox } from './phase-box.js';
import { printTable, writeResults, type BenchResults } from './report.js';
import { setLogDir, setNodeFlags, unexpectedExits } from './procs.js';

// `npm run bench [-- --quick]`: starts its own PostgreSQL (or uses DATABASE_URL) and its own server
// processes, runs the phases, prints a table, writes bench/results/<date>.json and updates
// BENCHMARKS.md. See BENCHMARKS.md for what each number means.

const opts = parseOptions(process.argv.slice(2));
setNodeFlags(opts.nodeFlags);
setLogDir(opts.keepLogs);
const log = (m: string) => process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${m}\n`);
const started = Date.now();
const pg = await openBenchPg(log);
const ctx: BenchContext = { opts, pg, log };
const has = (p: string) => opts.phases.includes(p as never);
const phaseSeconds: Record<string, number> = {};
async function timed<T>(name: string, f: () => Promise<T>): Promise<T> {
  const t0 = Date.now();
  try {
    return await f();
  } finally {
    phaseSeconds[name] = Math.round((Date.now() - t0) / 100) / 10;
  }
}

const results: BenchResults & { soak?: SoakResult } = {
  date: new Date().toISOString(),
  mode: opts.quick ? 'quick' : 'full',
  machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model ?? '', node: process.version, postgres: '', embeddedPostgres: pg.embedded },
  options: { ...opts, outDir: undefined, markdown: undefined },
  ceiling: [] as CeilingResult[],
  ingest: [] as IngestResult[],
  digest: [] as DigestResult[],
  defaultProcess: null as DefaultResult | null,
  latency: null as LatencyResult | null,
  disk: [] as DiskResult[],
  query: null as QueryResult | null,
  profile: null as ProfileResult | null,
  hostile: null as HostileResult | null,
  seconds: 0,
  phaseSeconds: {},
  error: undefined as string | undefined,
};

let failed = false;
try {
  const main = await pg.create('main');
  results.machine.postgres = (await main.pool.query<{ v: string }>("SELECT current_setting('server_version') AS v")).rows[0]!.v;
  if (has('ingest')) await timed('ingest', async () => {
    // The first traffic's runs ingest into `main` (the digest phase drains what they queued); the
    // others, for comparison, into databases of their own.
    for (const traffic of opts.traffic) {
      const tctx: BenchContext = { ...ctx, traffic };
      const db = traffic === opts.traffic[0] ? main : await pg.create(`ingest_${traffic}`);
      for (const n of opts.processes) {
        log(`ceiling: ${n} process(es), ${opts.duration} s at ${opts.connections} connections (${opts.generator}), ${traffic} traffic`);
        const c = await runCeiling(tctx, db, n);
        results.ceiling.push(c);
        log(`ceiling: ${c.rps} req/s`);
        log(`ingest: ${n} process(es), ${traffic} traffic`);
        const i = await runIngest(tctx, db, n, c);
        results.ingest.push(i);
        log(`ingest: ${i.eventsPerSec} events/s accepted (${i.ratioToCeiling} of ceiling)`);
      }
      if (db !== main) await db.drop();
    }
  });
  if (has('digest')) {
    await timed('digest', async () => {
      if (opts.digestMix.includes('sdk')) for (const n of opts.digestWorkers) results.digest.push(await runDigest(ctx, main, opts.digestTimeout, n));
      if (opts.digestMix.includes('js')) {
        // a database of its own, the bundle uploaded first: the backlog is ingested with the JS-heavy mix
        const js = await prepareJsMix();
        for (const n of opts.digestWorkers) {
          const db = await pg.create(`digest_js_${n}`);
          await uploadJsBundle(db.pool, db.projectId, js.bundle);
          const d = await runDigest({ ...ctx, jsFixtures: js.fixtures }, db, opts.digestTimeout, n);
          log(`digest (JS-heavy, source maps): ${d.reportsPerSec} events/s; ${d.symbolicatedIssues} issues with original frames, ${d.minifiedIssues} minified, of ${d.issues}`);
          results.digest.push(d);
          await db.drop();
        }
      }
    });
  }
  await main.drop();
  if (has('default')) results.defaultProcess = await timed('default', () => {
    // held to the ceiling of one process with the same traffic, when the ingest phase measured it
    const c = results.ceiling.find((x) => x.processes === 1 && (x.traffic ?? opts.traffic[0]) === opts.traffic[0]);
    return runDefault(ctx, c?.rps ?? null);
  });
  if (has('box')) results.box = await timed('box', () => runBox(ctx));
  if (has('latency')) results.latency = await timed('latency', () => runLatency(ctx));
  // the two disk workloads side by side: they measure bytes, which sharing the CPU does not change
  if (has('disk')) await timed('disk', async () => {
    for (const traffic of opts.traffic) {
      const tctx: BenchContext = { ...ctx, traffic };
      results.disk.push(...(await Promise.all([runDisk(tctx, 'repeated'), runDisk(tctx, 'mix')])));
    }
  });
  if (has('query')) results.query = await timed('query', () => runQuery(ctx));
  if (has('profile')) results.profile = await timed('profile', () => runProfile(ctx));
  if (has('hostile')) results.hostile = await timed('hostile', async () => runHostile());
  if (has('soak')) results.soak = await timed('soak', () => runSoak(ctx));
} catch (e) {
  failed = true;
  results.error = (e as Error).message;
  log(`FAILED: ${(e as Error).stack ?? String(e)}`);
  for (const m of unexpectedExits()) log(m);
} finally {
  await pg.close().catch((e) => log(`closing PostgreSQL failed: ${(e as Error).message}`));
}
results.seconds = Math.round((Date.now() - started) / 1000);
results.phaseSeconds = phaseSeconds;
log(`phase seconds: ${JSON.stringify(phaseSeconds)}`);
printTable(results);
// a failed run still writes what it measured, marked with its error (the smoke test fails on the exit code)
// a soak alone writes its own bench/results/soak-*.json (phase-soak.ts), not the day's file of the other phases
if (opts.phases.some((p) => p !== 'soak')) writeResults(results, opts, log);
process.exit(failed ? 1 : 0);
