import { execFileSync, spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PACKAGE_ROOT } from '../src/paths.js';
import { buildPool, buildTemplates, gzipMembers, newNonce, poolSizes, schedule, STORED_OVERHEAD, type Target, type Template, type WorkloadOptions } from './workload.js';

// One interface over the two load generators. wrk (Debian package, C + LuaJIT) is preferred: it
// drives ~5x more requests per core than a Node client, so the ceiling measures the server and not
// the generator. The Node generator (bench/loadgen.ts, separate processes) is the fallback when wrk
// is not installed, and the paced sender for the background load of the latency phase.

export interface Endpoint {
  host: string;
  port: number;
}

export interface LoadSpec {
  endpoints: Endpoint[];
  connections: number;
  /** wrk threads, or Node generator processes */
  senders: number;
  durationSec: number;
  workload: WorkloadOptions;
  target: Target;
  /** requests expected, to size the pools of pre-built compressed bodies */
  expected: number;
  /** Node generator only: stop after this many requests */
  maxRequests?: number;
  /** Node generator only: requests per second (paced) instead of as fast as possible */
  rate?: number;
  /** Node generator only: ends the run early */
  signal?: AbortSignal;
}

export interface LoadResult {
  generator: 'wrk' | 'node';
  durationSec: number;
  requests: number;
  /** non-2xx answers plus socket errors and timeouts */
  errors: number;
  /** answers that were not 2xx (wrk: status ≥ 400); `requests - rejected` were accepted */
  rejected: number;
  rps: number;
  latencyMs: { mean: number; p50: number; p90: number; p99: number; max: number };
  /** times a sender ran out of distinct pre-built bodies and reused one (0 = every body distinct) */
  poolWraps: number;
  /** CPU seconds the generator itself used (all its threads or processes), building bodies included */
  generatorCpuSec: number;
}

export type Generator = 'wrk' | 'node';

export function haveWrk(): boolean {
  try {
    execFileSync('wrk', ['--version'], { stdio: 'ignore' });
    return true;
  } catch (e) {
    // wrk --version exits 1 after printing its version; only a missing binary throws ENOENT
    return (e as { code?: string }).code !== 'ENOENT';
  }
}

/** The data file bench/wrk.lua reads: templates (split at their marks; gzip ones as members), pools
 * of pre-built bodies for deflate, the schedule. */
export function writeWrkData(file: string, templates: Template[], spec: LoadSpec, nonce: string): void {
  const fd = openSync(file, 'w');
  const w = (b: Buffer | string) => writeSync(fd, typeof b === 'string' ? Buffer.from(b) : b);
  const pools = poolSizes(templates, spec.expected, spec.senders, (t) => t.encoding === 'deflate');
  templates.forEach((t, i) => {
    const head = (len: number) =>
      `POST ${t.path} HTTP/1.1\r\nHost: ${spec.endpoints[0]!.host}\r\n` +
      Object.entries(t.headers).map(([k, v]) => `${k}: ${v}\r\n`).join('') +
      `Content-Length: ${len}\r\n\r\n`;
    if (t.encoding === 'identity' || t.encoding === 'gzip') {
      // marks are replaced by values of their own width (wrapped in stored members of fixed
      // overhead when gzip), so the length is fixed
      const gz = t.encoding === 'gzip';
      const pieces = gz ? gzipMembers(t) : t.pieces;
      const extra = gz ? STORED_OVERHEAD : 0;
      const len = pieces.reduce((a, p) => a + (p === 'I' ? 32 + extra : p === 'G' ? 6 + extra : p.length), 0);
      const parts = [Buffer.from(head(len)), ...pieces];
      w(`T ${i} ${t.groups} ${parts.length} ${gz ? 1 : 0}\n`);
      for (const p of parts) {
        if (p === 'I' || p === 'G') w(`${p}\n`);
        else {
          w(`L ${p.length}\n`);
          w(p);
        }
      }
    } else {
      const bodies = buildPool(t, pools[i]!, nonce, 0x8000 + i);
      w(`P ${i} ${bodies.length}\n`);
      for (const b of bodies) {
        const req = Buffer.concat([Buffer.from(head(b.length)), b]);
        w(`${req.length}\n`);
        w(req);
      }
    }
  });
  w(`S ${schedule(templates).length}\n${schedule(templates).join(' ')}\n`);
  closeSync(fd);
}

async function runWrk(spec: LoadSpec): Promise<LoadResult> {
  const dir = mkdtempSync(join(tmpdir(), 'cc-bench-wrk-'));
  try {
    const nonce = newNonce();
    const data = join(dir, 'requests.dat');
    writeWrkData(data, buildTemplates(spec.target, spec.workload), spec, nonce);
    const e0 = spec.endpoints[0]!;
    const args = ['-t', String(spec.senders), '-c', String(spec.connections), '-d', `${spec.durationSec}s`, '--timeout', '30s', '-s', join(PACKAGE_ROOT, 'bench', 'wrk.lua'), `http://${e0.host}:${e0.port}/`];
    const out = await new Promise<string>((resolve, reject) => {
      const p = spawn('wrk', args, {
        env: { ...process.env, BENCH_TARGETS: spec.endpoints.map((e) => `${e.host}:${e.port}`).join(','), BENCH_DATA: data, BENCH_NONCE: nonce, BENCH_THREADS: String(spec.senders) },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let o = '';
      let err = '';
      p.stdout.on('data', (d: Buffer) => (o += d.toString()));
      p.stderr.on('data', (d: Buffer) => (err += d.toString()));
      p.on('error', reject);
      p.on('exit', (code) => (code === 0 ? resolve(o) : reject(new Error(`wrk exited with ${code}: ${err}${o}`))));
    });
    const line = out.split('\n').find((l) => l.startsWith('BENCH_RESULT '));
    if (!line) throw new Error(`wrk printed no result:\n${out}`);
    const r = JSON.parse(line.slice('BENCH_RESULT '.length)) as Record<string, number>;
    const durationSec = r.duration_us! / 1e6;
    const ms = (us: number) => Math.round(us / 10) / 100;
    return {
      generator: 'wrk',
      durationSec,
      requests: r.requests!,
      errors: r.status_errors! + r.connect_errors! + r.read_errors! + r.write_errors! + r.timeouts!,
      rejected: r.status_errors!,
      rps: r.requests! / durationSec,
      latencyMs: { mean: ms(r.lat_mean_us!), p50: ms(r.lat_p50_us!), p90: ms(r.lat_p90_us!), p99: ms(r.lat_p99_us!), max: ms(r.lat_max_us!) },
      poolWraps: r.pool_wraps!,
      generatorCpuSec: r.cpu_s ?? 0,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export interface NodeSenderResult {
  requests: number;
  errors: number;
  rejected: number;
  statuses: Record<string, number>;
  durationMs: number;
  latenciesMs: number[];
  poolWraps: number;
  cpuSec: number;
}

/** Runs bench/loadgen.js in `spec.senders` processes, each with its share of connections and rate. */
export async function runNode(spec: LoadSpec): Promise<LoadResult & { statuses: Record<string, number> }> {
  const n = spec.senders;
  const nonce = newNonce();
  const parts = await Promise.all(
    Array.from({ length: n }, (_, i) => {
      const cfg = {
        sender: i + 1,
        nonce,
        // sender i loads endpoints i, i+n, ... (or, with fewer endpoints than senders, endpoint i mod count)
        endpoints: spec.endpoints.length >= n ? spec.endpoints.filter((_, k) => k % n === i) : [spec.endpoints[i % spec.endpoints.length]!],
        connections: Math.max(1, Math.round(spec.connections / n)),
        durationMs: spec.durationSec * 1000,
        maxRequests: spec.maxRequests !== undefined ? Math.ceil(spec.maxRequests / n) : undefined,
        rate: spec.rate !== undefined ? spec.rate / n : undefined,
        workload: spec.workload,
        target: spec.target,
        expected: Math.ceil(spec.expected / n),
      };
      return new Promise<NodeSenderResult>((resolve, reject) => {
        const p = spawn(process.execPath, [join(PACKAGE_ROOT, 'dist', 'bench', 'loadgen.js'), JSON.stringify(cfg)], { stdio: ['ignore', 'pipe', 'pipe'] });
        spec.signal?.addEventListener('abort', () => p.kill('SIGTERM'));
        let o = '';
        let err = '';
        p.stdout.on('data', (d: Buffer) => (o += d.toString()));
        p.stderr.on('data', (d: Buffer) => (err += d.toString()));
        p.on('error', reject);
        p.on('exit', (code) => (code === 0 ? resolve(JSON.parse(o) as NodeSenderResult) : reject(new Error(`loadgen exited with ${code}: ${err}`))));
      });
    }),
  );
  const lat = parts.flatMap((p) => p.latenciesMs).sort((a, b) => a - b);
  const pct = (q: number) => (lat.length ? lat[Math.min(lat.length - 1, Math.floor((q / 100) * lat.length))]! : 0);
  const durationSec = Math.max(...parts.map((p) => p.durationMs)) / 1000;
  const requests = parts.reduce((a, p) => a + p.requests, 0);
  const statuses: Record<string, number> = {};
  for (const p of parts) for (const [k, v] of Object.entries(p.statuses)) statuses[k] = (statuses[k] ?? 0) + v;
  const r2 = (x: number) => Math.round(x * 100) / 100;
  return {
    generator: 'node',
    durationSec,
    requests,
    errors: parts.reduce((a, p) => a + p.errors, 0),
    rejected: parts.reduce((a, p) => a + p.rejected, 0),
    rps: requests / durationSec,
    latencyMs: { mean: r2(lat.reduce((a, b) => a + b, 0) / (lat.length || 1)), p50: r2(pct(50)), p90: r2(pct(90)), p99: r2(pct(99)), max: r2(lat[lat.length - 1] ?? 0) },
    poolWraps: parts.reduce((a, p) => a + p.poolWraps, 0),
    generatorCpuSec: parts.reduce((a, p) => a + p.cpuSec, 0),
    statuses,
  };
}

export async function runLoad(spec: LoadSpec, generator: Generator): Promise<LoadResult> {
  return generator === 'wrk' && spec.maxRequests === undefined && spec.rate === undefined ? runWrk(spec) : runNode(spec);
}
