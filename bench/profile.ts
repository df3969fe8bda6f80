import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PACKAGE_ROOT } from '../src/paths.js';
import { round, type BenchContext } from './context.js';
import { countRows } from './db.js';
import { runIngest } from './phase-ingest.js';
import { startCrashCache } from './procs.js';

// Profile: one more ingest run (1 process, same load) with `node --cpu-prof`, then a worker process
// draining what it queued for `profileDigestSecs`, also profiled; for each, the functions with the
// most self time from the profile V8 writes at exit. Not part of the measured numbers (the profiler
// costs a few percent).

export interface ProfileEntry {
  fn: string;
  where: string;
  selfPct: number;
  /** the caller that accounts for most of this function's self time */
  caller: string;
}

export interface ProfileSummary {
  samples: number;
  /** profiles merged: one per thread (the main thread and any worker threads) */
  threads: number;
  /** share of the process's time idle; the other percentages are of the busy time */
  idlePct: number;
  top: ProfileEntry[];
  /** self time grouped by where the code lives: our src/ folders, node internals, npm packages, GC */
  byArea: { area: string; selfPct: number }[];
}

export interface ProfileResult {
  ingest: ProfileSummary & { eventsPerSec: number };
  /** the worker process draining the queue the profiled ingest left */
  digest: (ProfileSummary & { eventsPerSec: number; seconds: number }) | null;
}

interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; hitCount?: number; children?: number[] }[];
  samples: number[];
  timeDeltas: number[];
}

function shortUrl(url: string): string {
  if (!url) return '';
  const path = url.startsWith('file://') ? fileURLToPath(url) : url;
  const rel = path.startsWith(PACKAGE_ROOT) ? relative(PACKAGE_ROOT, path) : path;
  return rel.replace(/^dist\//, '').replace(/\.js$/, '.ts');
}

function area(url: string, fn: string): string {
  if (!url) return fn.startsWith('(') ? fn : '(native)';
  const u = shortUrl(url);
  const m = /^src\/([^/]+)\//.exec(u);
  if (m) return `src/${m[1]}`;
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(u);
  if (nm) return `npm:${nm[1]}`;
  if (u.startsWith('node:')) return `node:${u.slice(5).split('/')[1] ?? u.slice(5)}`;
  return u;
}

export function summarize(profiles: CpuProfile[], topN = 25): ProfileSummary {
  const self = new Map<string, { fn: string; where: string; us: number; callers: Map<string, number> }>();
  const areas = new Map<string, number>();
  let total = 0;
  let idle = 0;
  let samples = 0;
  const label = (cf: CpuProfile['nodes'][number]['callFrame']) => `${cf.functionName || '(anonymous)'}${cf.url ? ` ${shortUrl(cf.url)}:${cf.lineNumber + 1}` : ''}`;
  for (const p of profiles) {
    const byId = new Map(p.nodes.map((n) => [n.id, n]));
    const parent = new Map<number, number>();
    for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
    p.samples.forEach((id, i) => {
      const n = byId.get(id)!;
      const dt = p.timeDeltas[i] ?? 0;
      const cf = n.callFrame;
      if (cf.functionName === '(idle)') {
        idle += dt;
        return;
      }
      const key = `${cf.functionName}|${cf.url}|${cf.lineNumber}`;
      const e = self.get(key) ?? { fn: cf.functionName || '(anonymous)', where: cf.url ? `${shortUrl(cf.url)}:${cf.lineNumber + 1}` : '', us: 0, callers: new Map() };
      e.us += dt;
      const up = parent.get(id);
      const caller = up !== undefined ? label(byId.get(up)!.callFrame) : '';
      e.callers.set(caller, (e.callers.get(caller) ?? 0) + dt);
      self.set(key, e);
      const a = area(cf.url, cf.functionName);
      areas.set(a, (areas.get(a) ?? 0) + dt);
      total += dt;
      samples++;
    });
  }
  const pct = (us: number) => round((100 * us) / (total || 1), 1);
  return {
    samples,
    threads: profiles.length,
    idlePct: round((100 * idle) / (total + idle || 1), 1),
    top: [...self.values()]
      .sort((a, b) => b.us - a.us)
      .slice(0, topN)
      .map((e) => ({ fn: e.fn, where: e.where, selfPct: pct(e.us), caller: [...e.callers.entries()].sort((a, b) => b[1] - a[1])[0]?.[0] ?? '' })),
    byArea: [...areas.entries()].sort((a, b) => b[1] - a[1]).slice(0, 15).map(([a, us]) => ({ area: a, selfPct: pct(us) })),
  };
}

function readProfiles(dir: string): CpuProfile[] {
  const files = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'));
  if (!files.length) throw new Error('the server wrote no CPU profile');
  return files.map((f) => JSON.parse(readFileSync(join(dir, f), 'utf8')) as CpuProfile);
}

export async function runProfile(ctx: BenchContext): Promise<ProfileResult> {
  const dir = mkdtempSync(join(tmpdir(), 'cc-bench-prof-'));
  const db = await ctx.pg.create('profile');
  try {
    ctx.log('profile: ingest, 1 process, under --cpu-prof');
    mkdirSync(join(dir, 'ingest'));
    const fakeCeiling = { processes: 1, rps: 10_000, latencyMs: { mean: 0, p50: 0, p90: 0, p99: 0, max: 0 }, errors: 0, memory: { serverRssMb: 0, serverHwmMb: [], postgresRssMb: 0, postgresPssMb: 0, cpu: { server: 0, postgres: 0, rest: 0, idle: 0 } } };
    const r = await runIngest(ctx, db, 1, fakeCeiling, join(dir, 'ingest'));
    const ingest = { eventsPerSec: r.eventsPerSec, ...summarize(readProfiles(join(dir, 'ingest'))) };

    ctx.log(`profile: digest worker, ${ctx.opts.profileDigestSecs} s under --cpu-prof`);
    mkdirSync(join(dir, 'digest'));
    const before = await countRows(db, 'queue');
    const worker = await startCrashCache({ databaseUrl: db.url, args: ['worker'], cpuProfDir: join(dir, 'digest') });
    const t0 = performance.now();
    await new Promise((res) => setTimeout(res, ctx.opts.profileDigestSecs * 1000));
    const done = before - (await countRows(db, 'queue'));
    const seconds = (performance.now() - t0) / 1000;
    await worker.stop();
    const digest = { eventsPerSec: round(done / seconds), seconds: round(seconds, 1), ...summarize(readProfiles(join(dir, 'digest'))) };
    return { ingest, digest };
  } finally {
    await db.drop();
    if (ctx.opts.profileKeep) cpSync(dir, ctx.opts.profileKeep, { recursive: true });
    rmSync(dir, { recursive: true, force: true });
  }
}
