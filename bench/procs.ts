import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { PACKAGE_ROOT } from '../src/paths.js';

// The processes the bench measures (crash-cache servers and workers, the ceiling), each a child
// process of its own, and the memory sampler that watches them and PostgreSQL.

export interface Proc {
  name: string;
  proc: ChildProcess;
  port: number;
  logs: string[];
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      const port = typeof a === 'object' && a ? a.port : 0;
      s.close(() => resolve(port));
    });
  });
}

/** Every process started, so that a failed run can show the last words of those that died. */
const started: { p: Proc; stopping: boolean }[] = [];

export function unexpectedExits(): string[] {
  return started
    .filter((s) => !s.stopping && (s.p.proc.exitCode !== null || s.p.proc.signalCode !== null))
    .map((s) => `${s.p.name} (port ${s.p.port}) exited with ${s.p.proc.exitCode ?? s.p.proc.signalCode}:\n  ${s.p.logs.slice(-20).join('\n  ')}`);
}

function track(name: string, proc: ChildProcess, port: number): Proc {
  const logs: string[] = [];
  const entry = { p: null as unknown as Proc, stopping: false };
  const keep = (d: Buffer) => {
    if (logDir) appendFileSync(join(logDir, `${name}-${proc.pid}.log`), d);
    logs.push(...d.toString().split('\n').filter(Boolean));
    if (logs.length > 500) logs.splice(0, logs.length - 500);
  };
  proc.stdout?.on('data', keep);
  proc.stderr?.on('data', keep);
  const p: Proc = {
    name,
    proc,
    port,
    logs,
    stop() {
      entry.stopping = true;
      return new Promise((resolve) => {
        if (proc.exitCode !== null || proc.signalCode !== null) return resolve();
        const hard = setTimeout(() => proc.kill('SIGKILL'), 40_000);
        proc.once('exit', () => {
          clearTimeout(hard);
          resolve();
        });
        proc.kill('SIGTERM');
      });
    },
  };
  entry.p = p;
  started.push(entry);
  return p;
}

async function waitFor(p: Proc, ready: () => Promise<boolean>, what: string, timeoutMs = 60_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    if (p.proc.exitCode !== null) {
      await new Promise((r) => setTimeout(r, 200)); // let its last output arrive
      throw new Error(`${p.name} (${p.proc.spawnargs.slice(1).join(' ')}, port ${p.port}) exited with ${p.proc.exitCode} before ${what}:\n${p.logs.slice(-30).join('\n')}`);
    }
    if (await ready().catch(() => false)) return;
    if (Date.now() > until) throw new Error(`${p.name}: no ${what} in ${timeoutMs / 1000} s:\n${p.logs.slice(-30).join('\n')}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export async function startCeiling(): Promise<Proc> {
  const port = await freePort();
  const proc = spawn(process.execPath, [join(PACKAGE_ROOT, 'dist', 'bench', 'ceiling.js'), String(port)], { stdio: ['ignore', 'pipe', 'pipe'] });
  const p = track('ceiling', proc, port);
  await waitFor(p, async () => p.logs.some((l) => l.startsWith('listening')), 'listening');
  return p;
}

export interface ServerOptions {
  databaseUrl: string;
  /** extra arguments: --no-worker, or ['worker'] for a worker-only process */
  args?: string[];
  env?: Record<string, string>;
  /** write a V8 CPU profile into this directory when the process exits */
  cpuProfDir?: string;
}

/** The settings every bench server runs with: rate limits off, quiet logs, loopback only. */
export function benchEnv(o: ServerOptions, port: number): Record<string, string> {
  return {
    ...(process.env as Record<string, string>),
    DATABASE_URL: o.databaseUrl,
    SERVER_HOST: '127.0.0.1',
    SERVER_PORT: String(port),
    RATE_LIMIT_GLOBAL_PER_SEC: '0',
    RATE_LIMIT_PER_IP_PER_SEC: '0',
    RATE_LIMIT_PER_PROJECT_PER_SEC: '0',
    LOG_LEVEL: 'warn',
    ...o.env,
  };
}

/** Starts the built `bin/crash-cache` and waits until it answers /health (or, worker-only, until it is up). */
export async function startCrashCache(o: ServerOptions): Promise<Proc> {
  try {
    return await startOnce(o);
  } catch (e) {
    // Seen twice in a day on a machine where other builds rewrote dist/ meanwhile: a process that
    // exited 1 at start-up without a word. Once more, then give up.
    if (!/exited with/.test((e as Error).message)) throw e;
    process.stderr.write(`[bench] ${(e as Error).message.split('\n')[0]}; starting it again\n`);
    return startOnce(o);
  }
}

/** What bin/crash-cache's `#!/usr/bin/env -S NAME=value … node flags…` line gives the server when it is
 * run as a command, as users do (`node bin/crash-cache` would not get it): environment variables set
 * before Node starts (glibc's malloc reads them then) and Node/V8 flags. The bench adds `--nodeFlags`. */
export function binShebang(): { env: Record<string, string>; flags: string[] } {
  const first = readFileSync(join(PACKAGE_ROOT, 'bin', 'crash-cache'), 'utf8').split('\n', 1)[0] ?? '';
  const m = /^#!\S*env -S (.*)$/.exec(first);
  const words = m ? m[1]!.split(/\s+/).filter(Boolean) : [];
  const node = words.indexOf('node');
  if (node < 0) return { env: {}, flags: [] };
  const env = Object.fromEntries(words.slice(0, node).map((w) => [w.slice(0, w.indexOf('=')), w.slice(w.indexOf('=') + 1)]));
  return { env, flags: words.slice(node + 1) };
}
let extraNodeFlags: string[] = [];
export function setNodeFlags(flags: string): void {
  extraNodeFlags = flags.split(/\s+/).filter(Boolean);
}
/** Where each process's whole output goes besides the in-memory tail (`--keepLogs`; '' = nowhere), e.g. for `--nodeFlags --trace-gc`. */
let logDir = '';
export function setLogDir(dir: string): void {
  logDir = dir;
  if (dir) mkdirSync(dir, { recursive: true });
}

async function startOnce(o: ServerOptions): Promise<Proc> {
  const args = o.args ?? [];
  const workerOnly = args[0] === 'worker';
  const port = workerOnly ? 0 : await freePort();
  const shebang = binShebang();
  const flags = [...shebang.flags, ...extraNodeFlags, ...(o.cpuProfDir ? ['--cpu-prof', '--cpu-prof-dir', o.cpuProfDir] : [])];
  // As `env NAME=value node` does, the first line's variables win over the bench's environment; a
  // phase's own (o.env, for A/B runs) win over both.
  const env = { ...benchEnv(o, port), ...shebang.env, ...o.env };
  if (workerOnly) env.LOG_LEVEL = 'info'; // its "worker running" line tells that it is up
  const proc = spawn(process.execPath, [...flags, join(PACKAGE_ROOT, 'bin', 'crash-cache'), ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const p = track(workerOnly ? 'worker' : 'crash-cache', proc, port);
  if (workerOnly) await waitFor(p, async () => p.logs.some((l) => l.includes('worker running')), 'start');
  else await waitFor(p, async () => (await fetch(`http://127.0.0.1:${port}/health`)).status < 500, '/health answer');
  return p;
}

// ---- memory ----

/** A field of /proc/<pid>/status in kB (0 when the process is gone). */
export function statusKb(pid: number, field: string): number {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

function pssKb(pid: number): number {
  try {
    const m = /^Pss:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

/** The bench's PostgreSQL: its postmaster and the postmaster's children (backends, walwriter, ...). */
export function clusterPids(postmaster: number): number[] {
  const out = [postmaster];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === postmaster) out.push(Number(d));
    } catch {
      /* gone */
    }
  }
  return out;
}

let postmasterPid: number | null = null;
/** Set once the bench knows its PostgreSQL's postmaster (bench/db.ts). */
export function setPostmaster(pid: number | null): void {
  postmasterPid = pid;
}

export interface MemoryPeak {
  /** peak over the phase of the summed RSS of the measured processes (MB), and each one's VmHWM */
  serverRssMb: number;
  serverHwmMb: number[];
  /** peak summed RSS and PSS of the bench's PostgreSQL processes (MB); RSS counts the shared buffers a
   * process touched once per process, PSS shares them out; 0 when the postmaster is not on this machine */
  postgresRssMb: number;
  postgresPssMb: number;
  /** CPU used during the phase, in cores (CPU seconds ÷ wall seconds): the measured processes, the
   * bench's PostgreSQL, and everything else on the machine (the load generator, other work) */
  cpu: { server: number; postgres: number; rest: number; idle: number; generator?: number };
}

/** Moves the load generator's own CPU (measured by itself) out of "rest". */
export function withGenerator(m: MemoryPeak, generatorCpuSec: number, seconds: number): MemoryPeak {
  const g = Math.round((100 * generatorCpuSec) / seconds) / 100;
  return { ...m, cpu: { ...m.cpu, generator: g, rest: Math.max(0, Math.round(100 * (m.cpu.rest - g)) / 100) } };
}

/** utime + stime of a process, in seconds (clock ticks are 1/100 s on Linux). */
function cpuSecs(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / 100;
  } catch {
    return 0;
  }
}

/** All CPUs' busy and idle seconds since boot, from /proc/stat. */
function machineSecs(): { busy: number; idle: number } {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const idle = (f[3] ?? 0) + (f[4] ?? 0);
  const all = f.slice(0, 8).reduce((a, b) => a + b, 0);
  return { busy: (all - idle) / 100, idle: idle / 100 };
}

/** Samples RSS and CPU every 250 ms while a phase runs; `stop()` returns the peaks and CPU shares. */
export function sampleMemory(procs: Proc[]): { stop(): MemoryPeak } {
  let server = 0;
  let pgRss = 0;
  let pgPss = 0;
  let n = 0;
  // CPU: per pid, the first and last reading (a backend first seen mid-phase started in it: base 0)
  const pgCpu = new Map<number, { first: number; last: number }>();
  const serverCpu0 = procs.map((p) => (p.proc.pid ? cpuSecs(p.proc.pid) : 0));
  let serverCpu = serverCpu0.slice();
  const machine0 = machineSecs();
  const wall0 = performance.now();
  const tick = (first = false) => {
    server = Math.max(server, procs.reduce((a, p) => a + (p.proc.pid ? statusKb(p.proc.pid, 'VmRSS') : 0), 0));
    serverCpu = procs.map((p, i) => (p.proc.pid ? cpuSecs(p.proc.pid) || serverCpu[i]! : 0));
    const pids = postmasterPid ? clusterPids(postmasterPid) : [];
    pgRss = Math.max(pgRss, pids.reduce((a, pid) => a + statusKb(pid, 'VmRSS'), 0));
    for (const pid of pids) {
      const c = cpuSecs(pid);
      const e = pgCpu.get(pid);
      if (e) e.last = Math.max(e.last, c);
      else pgCpu.set(pid, { first: first ? c : 0, last: c });
    }
    // smaps_rollup is dearer to read: every 4th sample (1 s)
    if (n++ % 4 === 0) pgPss = Math.max(pgPss, pids.reduce((a, pid) => a + pssKb(pid), 0));
  };
  tick(true);
  const timer = setInterval(tick, 250);
  return {
    stop() {
      clearInterval(timer);
      tick();
      const wall = (performance.now() - wall0) / 1000;
      const m = machineSecs();
      const mb = (kb: number) => Math.round(kb / 102.4) / 10;
      const cores = (s: number) => Math.round((100 * s) / wall) / 100;
      const srv = serverCpu.reduce((a, c, i) => a + c - serverCpu0[i]!, 0);
      const pg = [...pgCpu.values()].reduce((a, e) => a + e.last - e.first, 0);
      return {
        serverRssMb: mb(server),
        serverHwmMb: procs.map((p) => mb(p.proc.pid ? statusKb(p.proc.pid, 'VmHWM') : 0)),
        postgresRssMb: mb(pgRss),
        postgresPssMb: mb(pgPss),
        cpu: { server: cores(srv), postgres: cores(pg), rest: cores(Math.max(0, m.busy - machine0.busy - srv - pg)), idle: cores(m.idle - machine0.idle) },
      };
    },
  };
}
