import type { BenchDb, BenchPg } from './db.js';
import type { LoadSpec } from './load.js';
import type { BenchOptions } from './options.js';
import type { Proc } from './procs.js';
import type { Traffic, WorkloadOptions } from './workload.js';

/** What every phase gets. */
export interface BenchContext {
  opts: BenchOptions;
  pg: BenchPg;
  log: (m: string) => void;
  /** the traffic of this part of the run (default: the first of opts.traffic) */
  traffic?: Traffic;
  /** the JS-heavy digest mix's event fixtures (bench/js-mix.ts): the saturating load sends the js workload */
  jsFixtures?: string[];
}

/** The workload of a phase, in the context's traffic. */
export function workloadOf(ctx: BenchContext, kind: WorkloadOptions['kind'], groups: number): WorkloadOptions {
  return { kind, groups, traffic: ctx.traffic ?? ctx.opts.traffic[0], variants: ctx.opts.variants, seed: ctx.opts.seed };
}

/** The saturating load of the ceiling and ingest runs, against these processes. */
export function saturatingLoad(ctx: BenchContext, db: BenchDb, procs: Proc[], durationSec: number, expectedRps = 8000): LoadSpec {
  return {
    endpoints: procs.map((p) => ({ host: '127.0.0.1', port: p.port })),
    connections: ctx.opts.connections,
    senders: ctx.opts.senders,
    durationSec,
    workload: ctx.jsFixtures ? { ...workloadOf(ctx, 'js', ctx.opts.groups), jsFixtures: ctx.jsFixtures } : workloadOf(ctx, 'mix', ctx.opts.groups),
    target: { projectId: db.projectId, key: db.key },
    expected: Math.ceil(expectedRps * durationSec),
  };
}

export const round = (x: number, digits = 0): number => {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
};

export function percentile(sorted: number[], q: number): number {
  if (!sorted.length) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((q / 100) * sorted.length))]!;
}
