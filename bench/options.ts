import { join } from 'node:path';
import { PACKAGE_ROOT } from '../src/paths.js';
import { haveWrk, type Generator } from './load.js';
import { VARIANTS, type Traffic } from './workload.js';

// What a bench run does and how big it is. `--quick` is the one-minute version; any field can be
// overridden with `--name value` (the smoke test shrinks every count that way).

export const PHASES = ['ingest', 'digest', 'default', 'box', 'latency', 'disk', 'query', 'profile', 'hostile', 'soak'] as const;
export type Phase = (typeof PHASES)[number];

export interface BenchOptions {
  quick: boolean;
  /** seconds of load per ceiling and ingest run, after `warmup` seconds not counted */
  duration: number;
  warmup: number;
  connections: number;
  /** wrk threads (or Node generator processes): the same for ceiling and ingest */
  senders: number;
  /** server process counts to measure ingest with: 1 and one per core */
  processes: number[];
  /** issues per fixture in the mixed workload */
  groups: number;
  /** traffic kinds (bench/workload.ts): the first is every phase's; ingest and disk also run the others, for comparison */
  traffic: Traffic[];
  /** variants per fixture in realistic traffic, and their seed */
  variants: number;
  seed: number;
  backlog: number;
  /** worker process counts to drain a backlog with, one drain each */
  digestWorkers: number[];
  /** what the digest phase drains: sdk (the ingest runs' queue) and/or js (a JS-heavy mix with minified frames and an uploaded bundle, bench/js-mix.ts) */
  digestMix: ('sdk' | 'js')[];
  /** seconds the drain may take; past it the rate is that of the part drained */
  digestTimeout: number;
  probes: number;
  /** seconds of the latency phase's background load before its first probe */
  latencyWarmup: number;
  /** seconds the profiled worker drains */
  profileDigestSecs: number;
  /** directory to copy the raw .cpuprofile files to, for reading them in DevTools ('' = do not keep) */
  profileKeep: string;
  /** extra Node/V8 flags for the server and worker processes, e.g. '--max-semi-space-size=8' (experiments) */
  nodeFlags: string;
  /** directory to write each server and worker process's whole output to, as <name>-<pid>.log ('' = keep only the last lines in memory) */
  keepLogs: string;
  backgroundRate: number;
  /** the small-box phase's memory cgroup, MB: the default process and its PostgreSQL together (bench/phase-box.ts) */
  boxMemory: number;
  diskEvents: number;
  queryEvents: number;
  queryIssues: number;
  queryRequests: number;
  generator: Generator;
  phases: Phase[];
  outDir: string;
  /** BENCHMARKS.md to update ('' = none) */
  markdown: string;
  /** soak phase (bench/phase-soak.ts): minutes (`--soak N` alone runs only this phase; 0 = 5 when the phase is listed) */
  soak: number;
  /** events/s of the soak; 0 = half of what one process sustains, measured first */
  soakRate: number;
  /** STORAGE_MAX_BYTES of the soak, e.g. 500MB ('' = see soakBudgetFraction) */
  soakBudget: string;
  /** budget as a fraction of what the soak would write (0 = no budget) */
  soakBudgetFraction: number;
  /** RETENTION_INTERVAL_SECS of the soak's server */
  soakRetentionSecs: number;
}

export function parseOptions(argv: string[]): BenchOptions {
  const quick = argv.includes('--quick');
  const o: BenchOptions = {
    quick,
    duration: quick ? 3 : 15,
    warmup: quick ? 1 : 2,
    connections: 100,
    senders: 2,
    processes: [1, 2],
    groups: 35, // 29 fixtures x 35 = ~1,000 issues
    traffic: ['realistic', 'fixed'],
    variants: VARIANTS,
    seed: 1,
    backlog: quick ? 5_000 : 50_000,
    digestWorkers: quick ? [1] : [1, 2],
    digestMix: quick ? ['sdk'] : ['sdk', 'js'],
    digestTimeout: quick ? 15 : 300,
    probes: quick ? 3 : 50,
    latencyWarmup: quick ? 2 : 15,
    profileDigestSecs: quick ? 3 : 10,
    profileKeep: '',
    nodeFlags: '',
    keepLogs: '',
    backgroundRate: 100,
    // a "512 MB" virtual machine less what its system takes
    boxMemory: 384,
    diskEvents: quick ? 500 : 10_000,
    queryEvents: quick ? 30_000 : 1_000_000,
    queryIssues: quick ? 150 : 1_000,
    queryRequests: quick ? 40 : 300,
    generator: haveWrk() ? 'wrk' : 'node',
    // the soak takes minutes: only when asked for (--soak N, or listed in --phases)
    phases: PHASES.filter((p) => p !== 'soak' && (!quick || p !== 'profile')),
    outDir: join(PACKAGE_ROOT, 'bench', 'results'),
    markdown: join(PACKAGE_ROOT, 'BENCHMARKS.md'),
    soak: 0,
    soakRate: 0,
    soakBudget: '',
    soakBudgetFraction: 0,
    soakRetentionSecs: 10,
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--quick') continue;
    if (a === '--help' || a === '-h') {
      console.log(`usage: npm run bench -- [--quick] [--FIELD VALUE ...]\nfields (defaults of this mode):\n${JSON.stringify(o, null, 2)}`);
      process.exit(0);
    }
    const name = a.replace(/^--/, '').replace(/-([a-z])/g, (_, c: string) => c.toUpperCase()) as keyof BenchOptions;
    if (!a.startsWith('--') || !(name in o)) throw new Error(`unknown argument ${a} (see --help)`);
    const v = argv[++i];
    if (v === undefined) throw new Error(`${a} needs a value`);
    const cur = o[name];
    if (typeof cur === 'number') (o as unknown as Record<string, unknown>)[name] = Number(v);
    else if (Array.isArray(cur)) (o as unknown as Record<string, unknown>)[name] = v.split(',').filter(Boolean).map((x) => (name === 'processes' || name === 'digestWorkers' ? Number(x) : x));
    else (o as unknown as Record<string, unknown>)[name] = v;
  }
  // `--soak N` alone runs only the soak, and leaves BENCHMARKS.md's table (of the other phases) alone
  if (o.soak > 0 && !argv.includes('--phases')) {
    o.phases = ['soak'];
    if (!argv.includes('--markdown')) o.markdown = '';
  }
  for (const p of o.phases) if (!PHASES.includes(p)) throw new Error(`unknown phase ${p} (phases: ${PHASES.join(', ')})`);
  if (!o.traffic.length || o.traffic.some((t) => t !== 'realistic' && t !== 'fixed')) throw new Error('--traffic is a list of realistic and/or fixed');
  if (!o.digestMix.length || o.digestMix.some((m) => m !== 'sdk' && m !== 'js')) throw new Error('--digest-mix is a list of sdk and/or js');
  if (o.generator !== 'wrk' && o.generator !== 'node') throw new Error('--generator is wrk or node');
  return o;
}
