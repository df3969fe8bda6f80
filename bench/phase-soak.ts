import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseBytes } from '../src/config/index.js';
import { diskBytes, freeBytes } from '../src/archive/retention/size.js';
import { apiGet, post, createToken, ORG } from './api.js';
import { percentile, round, type BenchContext } from './context.js';
import type { BenchDb } from './db.js';
import { runLoad } from './load.js';
import { startCrashCache, statusKb, type Proc } from './procs.js';
import { buildTemplates, encode, groupTag, render } from './workload.js';

// Soak: the default single process (ingest + digest worker, as `npm start` runs it) under a fixed
// rate of the mixed workload for `soak` minutes, optionally into a disk budget (STORAGE_MAX_BYTES)
// that is a fraction of what the run would otherwise write. Every ~30 s it reports the database size
// (files, and in use), the server's RSS, the queue depth, send → visible p95 (a probe event a second,
// polled through the events API), the issue-list API p95 (one GET a second) and the ingest rate;
// at the end, the ingest rate of the first and the last minute. `npm run bench -- --soak MINUTES`
// runs only this phase; options: soakRate (events/s; 0 = half of what the server carries end to end, measured
// first for 10 s), soakBudget (a size like 500MB; '' = none), soakBudgetFraction (0.25 = a quarter of
// what the run would write at the bench mix's measured ~4,300 B/event; 0 = none, unless soakBudget),
// soakRetentionSecs (RETENTION_INTERVAL_SECS of the server).

/** Stored bytes per event of the bench mix in all tables, measured by the disk phase (BENCHMARKS.md). */
const BYTES_PER_EVENT = 4300;
const ROW_SECS = 30;
const SAMPLE_MS = 5000;

export interface SoakRow {
  t: number;
  diskMb: number;
  /** files minus free space (what the budget compares); null without pg_freespacemap */
  usedMb: number | null;
  rssMb: number;
  queue: number;
  ingestPerSec: number;
  visibleP95Ms: number;
  issueListP95Ms: number;
  retentionDeletedEvents: number;
}

export interface SoakResult {
  minutes: number;
  rate: number;
  /** what the server sustained when measured (0 = not measured: soakRate given) */
  capacity: number;
  budgetBytes: number | null;
  retentionIntervalSecs: number;
  rows: SoakRow[];
  firstMinutePerSec: number;
  lastMinutePerSec: number;
  /** the largest database size (files) after the first retention pass deleted something, / budget */
  maxDiskToBudgetAfterFirstPass: number | null;
  issueListP95Ms: number;
  visibleP95Ms: number;
  visibleTimedOut: number;
  accepted: number;
  errors: number;
  maxRssMb: number;
  events: number;
  eventsDeleted: number;
}

function rssMb(pid: number | undefined): number {
  return pid === undefined ? 0 : Math.round(statusKb(pid, 'VmRSS') / 1024);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Events/s the default process carries end to end (accepted and digested into reports) under 10 s of
 * saturating load, on a database of its own. Not the accept rate: at half of that (1,225 events/s,
 * 04:11 UTC 2026-12-06) the same process's digest fell ~350 events/s behind and the queue grew
 * without end, which is no soak.
 */
async function measureCapacity(ctx: BenchContext): Promise<number> {
  const db = await ctx.pg.create('soakcap');
  const server = await startCrashCache({ databaseUrl: db.url });
  try {
    const r = await runLoad({ endpoints: [{ host: '127.0.0.1', port: server.port }], connections: ctx.opts.connections, senders: ctx.opts.senders, durationSec: 10,
      workload: { kind: 'mix', groups: ctx.opts.groups }, target: { projectId: db.projectId, key: db.key }, expected: 80_000 }, ctx.opts.generator);
    const { rows } = await db.pool.query<{ n: string }>('SELECT count(*)::text AS n FROM report');
    return Math.round(Math.min(r.requests - r.rejected, Number(rows[0]!.n)) / r.durationSec);
  } finally {
    await server.stop();
    await db.drop();
  }
}

export async function runSoak(ctx: BenchContext): Promise<SoakResult> {
  const { opts, log } = ctx;
  const minutes = opts.soak > 0 ? opts.soak : 5;
  const secs = Math.round(minutes * 60);
  let capacity = 0;
  let rate = opts.soakRate;
  if (!(rate > 0)) {
    log('soak: measuring what one process sustains (10 s)');
    capacity = await measureCapacity(ctx);
    rate = Math.max(10, Math.round(capacity / 2));
    log(`soak: ${capacity} events/s sustained; soaking at half, ${rate} events/s`);
  }
  const db = await ctx.pg.create('soak');
  const baseBytes = await diskBytes(db.pool);
  let budget: number | null = null;
  if (opts.soakBudget) {
    budget = parseBytes(opts.soakBudget);
    if (budget === null) throw new Error(`--soak-budget must be a size like 500MB, got ${opts.soakBudget}`);
  } else if (opts.soakBudgetFraction > 0) budget = Math.round(baseBytes + opts.soakBudgetFraction * rate * secs * BYTES_PER_EVENT);
  const env: Record<string, string> = { RETENTION_INTERVAL_SECS: String(opts.soakRetentionSecs) };
  if (budget !== null) env.STORAGE_MAX_BYTES = String(budget);
  const server = await startCrashCache({ databaseUrl: db.url, env });
  log(`soak: ${minutes} min at ${rate} events/s${budget !== null ? `, budget ${round(budget / 1e6)} MB (the run would write ~${round((rate * secs * BYTES_PER_EVENT) / 1e6)} MB)` : ', no budget'}`);
  try {
    return await soak(ctx, db, server, { minutes, secs, rate, capacity, budget });
  } finally {
    await server.stop();
    await db.drop();
  }
}

async function soak(ctx: BenchContext, db: BenchDb, server: Proc, p: { minutes: number; secs: number; rate: number; capacity: number; budget: number | null }): Promise<SoakResult> {
  const { opts, log } = ctx;
  const token = await createToken(db);
  const target = { projectId: db.projectId, key: db.key };
  const stop = new AbortController();
  const t0 = performance.now();
  const now = () => (performance.now() - t0) / 1000;
  const load = runLoad({ endpoints: [{ host: '127.0.0.1', port: server.port }], connections: 50, senders: 1, durationSec: p.secs, rate: p.rate,
    workload: { kind: 'mix', groups: opts.groups }, target, expected: Math.min(300_000, p.rate * p.secs), signal: stop.signal }, 'node');
  let running = true;

  // send → visible: one probe a second, polled through the events API every 10 ms
  const probes: { t: number; ms: number | null }[] = [];
  const probeLoop = (async () => {
    const probe = buildTemplates(target, { kind: 'repeated', groups: 1 })[0]!;
    while (running) {
      const id = randomBytes(16).toString('hex');
      const start = performance.now();
      const status = await post(server.port, probe.path, probe.headers, encode(probe, render(probe, id, groupTag(0)))).catch(() => 0);
      let ms: number | null = null;
      while (status === 200 && running && performance.now() - start < 15_000) {
        const a = await apiGet(server.port, `/api/0/projects/${ORG}/${db.projectSlug}/events/${id}/`, token).catch(() => ({ status: 0, body: '' }));
        if (a.status === 200) {
          ms = performance.now() - start;
          break;
        }
        await sleep(10);
      }
      if (running || ms !== null) probes.push({ t: now(), ms });
      await sleep(1000);
    }
  })();

  // the issue list a user would open (unresolved, last seen first), one GET a second
  const lists: { t: number; ms: number }[] = [];
  const listLoop = (async () => {
    while (running) {
      const start = performance.now();
      const a = await apiGet(server.port, `/api/0/projects/${ORG}/${db.projectSlug}/issues/?query=is:unresolved&statsPeriod=24h`, token).catch(() => ({ status: 0, body: '' }));
      if (a.status === 200) lists.push({ t: now(), ms: performance.now() - start });
      await sleep(1000);
    }
  })();

  // samples every 5 s: the ingested counter, queue, sizes, RSS, retention so far
  const samples: { t: number; ingested: number; queue: number; disk: number; used: number | null; rss: number; deleted: number }[] = [];
  const sample = async () => {
    const { rows } = await db.pool.query<{ ingested: string; queue: string; deleted: string }>(
      `SELECT (SELECT coalesce(sum(value), 0) FROM counter WHERE name = 'ingested')::text AS ingested, (SELECT count(*) FROM queue)::text AS queue,
              (SELECT coalesce(sum(events), 0) FROM retention_deletion)::text AS deleted`);
    const disk = await diskBytes(db.pool);
    const free = p.budget !== null ? await freeBytes(db.pool).catch(() => null) : null;
    samples.push({ t: now(), ingested: Number(rows[0]!.ingested), queue: Number(rows[0]!.queue), disk, used: free === null ? null : disk - free, rss: rssMb(server.proc.pid), deleted: Number(rows[0]!.deleted) });
  };
  const rows: SoakRow[] = [];
  const window = (from: number, to: number) => {
    const inW = <T extends { t: number }>(xs: T[]) => xs.filter((x) => x.t > from && x.t <= to);
    const vis = inW(probes).map((x) => x.ms ?? 15_000).sort((a, b) => a - b);
    const lst = inW(lists).map((x) => x.ms).sort((a, b) => a - b);
    return { vis: round(percentile(vis, 95)), lst: round(percentile(lst, 95), 1) };
  };
  await sample();
  let lastRow = 0;
  while (now() < p.secs) {
    await sleep(SAMPLE_MS);
    await sample();
    const s = samples[samples.length - 1]!;
    if (s.t - lastRow >= ROW_SECS - 1 || now() >= p.secs) {
      const prev = samples.reduce((best, x) => (Math.abs(x.t - lastRow) < Math.abs(best.t - lastRow) ? x : best), samples[0]!);
      const w = window(lastRow, s.t);
      const row: SoakRow = {
        t: Math.round(s.t), diskMb: round(s.disk / 1e6, 1), usedMb: s.used === null ? null : round(s.used / 1e6, 1), rssMb: s.rss, queue: s.queue,
        ingestPerSec: round((s.ingested - prev.ingested) / Math.max(1, s.t - prev.t)), visibleP95Ms: w.vis, issueListP95Ms: w.lst, retentionDeletedEvents: s.deleted,
      };
      rows.push(row);
      log(`soak ${row.t} s: disk ${row.diskMb} MB${row.usedMb !== null ? ` (in use ${row.usedMb})` : ''}, RSS ${row.rssMb} MB, queue ${row.queue}, ${row.ingestPerSec} events/s, visible p95 ${row.visibleP95Ms} ms, issue list p95 ${row.issueListP95Ms} ms, deleted ${row.retentionDeletedEvents}`);
      lastRow = s.t;
    }
  }
  running = false;
  stop.abort();
  const bg = await load;
  await Promise.all([probeLoop, listLoop]);
  // rates over the first and the last full minute, from the samples nearest those times
  const at = (t: number) => samples.reduce((best, x) => (Math.abs(x.t - t) < Math.abs(best.t - t) ? x : best), samples[0]!);
  const perSec = (a: { t: number; ingested: number }, b: { t: number; ingested: number }) => round((b.ingested - a.ingested) / Math.max(1, b.t - a.t));
  const end = samples[samples.length - 1]!;
  const firstPass = samples.find((x) => x.deleted > 0);
  const after = firstPass ? samples.filter((x) => x.t >= firstPass.t) : [];
  const all = (xs: { ms: number | null }[]) => xs.map((x) => x.ms ?? 15_000).sort((a, b) => a - b);
  const { rows: ev } = await db.pool.query<{ n: string }>('SELECT count(*)::text AS n FROM report');
  const result: SoakResult = {
    minutes: p.minutes, rate: p.rate, capacity: p.capacity, budgetBytes: p.budget, retentionIntervalSecs: opts.soakRetentionSecs, rows,
    firstMinutePerSec: perSec(at(0), at(60)),
    lastMinutePerSec: perSec(at(end.t - 60), end),
    maxDiskToBudgetAfterFirstPass: p.budget !== null && after.length ? round(Math.max(...after.map((x) => x.disk)) / p.budget, 3) : null,
    issueListP95Ms: round(percentile(lists.map((x) => x.ms).sort((a, b) => a - b), 95), 1),
    visibleP95Ms: round(percentile(all(probes), 95)),
    visibleTimedOut: probes.filter((x) => x.ms === null).length,
    accepted: bg.requests - bg.rejected,
    errors: bg.errors,
    maxRssMb: Math.max(...samples.map((x) => x.rss)),
    events: Number(ev[0]!.n),
    eventsDeleted: end.deleted,
  };
  printSoak(result);
  mkdirSync(opts.outDir, { recursive: true });
  const file = join(opts.outDir, `soak-${new Date().toISOString().slice(0, 16).replace(':', '')}.json`);
  writeFileSync(file, JSON.stringify(result, null, 2) + '\n');
  log(`wrote ${file}`);
  return result;
}

export function printSoak(r: SoakResult): void {
  console.log(`\nSoak: ${r.minutes} min at ${r.rate} events/s${r.capacity ? ` (half of ${r.capacity} sustained)` : ''}; budget ${r.budgetBytes === null ? 'none' : `${round(r.budgetBytes / 1e6)} MB`}; retention every ${r.retentionIntervalSecs} s\n`);
  console.log('  t (s)  disk MB  in use MB  RSS MB  queue  events/s  visible p95 ms  issue list p95 ms  deleted');
  for (const x of r.rows) {
    console.log(`  ${String(x.t).padStart(5)}  ${String(x.diskMb).padStart(7)}  ${String(x.usedMb ?? '-').padStart(9)}  ${String(x.rssMb).padStart(6)}  ${String(x.queue).padStart(5)}  ${String(x.ingestPerSec).padStart(8)}  ${String(x.visibleP95Ms).padStart(14)}  ${String(x.issueListP95Ms).padStart(17)}  ${String(x.retentionDeletedEvents).padStart(7)}`);
  }
  console.log(`\n  ingest: first minute ${r.firstMinutePerSec} events/s, last minute ${r.lastMinutePerSec} events/s (${r.accepted} accepted, ${r.errors} errors)`);
  console.log(`  issue list p95 ${r.issueListP95Ms} ms; send → visible p95 ${r.visibleP95Ms} ms${r.visibleTimedOut ? ` (${r.visibleTimedOut} not visible in 15 s)` : ''}; max RSS ${r.maxRssMb} MB`);
  if (r.budgetBytes !== null) console.log(`  database size after the first retention pass: max ${r.maxDiskToBudgetAfterFirstPass ?? '-'} × budget; ${r.eventsDeleted} events deleted, ${r.events} kept`);
  console.log('');
}
