import { Agent, request } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { Endpoint, NodeSenderResult } from './load.js';
import { buildPool, buildTemplates, eventId, groupTag, gzipMembers, poolSizes, schedule, storedMember, type Target, type Template, type WorkloadOptions } from './workload.js';

// The Node load generator: one process (run by bench/load.ts, never inside the process it measures),
// keep-alive sockets, bodies pre-built or filled from templates, each with a fresh event id. Prints
// one JSON result on stdout. As fast as possible over `connections` sockets, or paced at `rate`.

interface Config {
  sender: number;
  nonce: string;
  endpoints: Endpoint[];
  connections: number;
  durationMs: number;
  maxRequests?: number;
  rate?: number;
  workload: WorkloadOptions;
  target: Target;
  expected: number;
}

const cfg = JSON.parse(process.argv[2]!) as Config;
const templates = buildTemplates(cfg.target, cfg.workload);
const sched = schedule(templates);
// A run of a known number of requests (disk, query) sends bodies exactly as the SDKs compress them,
// pre-built; a run for a time (saturating fallback, background) builds gzip bodies from members
// (see workload.ts), so that no pool has to be sized for an unknown count.
const exact = cfg.maxRequests !== undefined;
const pooled = (t: Template) => t.encoding === 'deflate' || (exact && t.encoding === 'gzip');
let slot = (cfg.sender * 97) % sched.length;
const sizes = exact ? exactUses(cfg.maxRequests!) : poolSizes(templates, cfg.expected, 1, pooled);
/** How often each template comes up in the first n requests (so that an exact run repeats no body). */
function exactUses(n: number): number[] {
  const uses = templates.map(() => 0);
  for (let k = 1; k <= n; k++) uses[sched[(slot + k) % sched.length]!]!++;
  return uses.map((u) => Math.max(1, u));
}
const pools = templates.map((t, i) => (pooled(t) ? buildPool(t, sizes[i]!, cfg.nonce, 0x4000 + cfg.sender * 64 + i) : null));
const members = templates.map((t) => (t.encoding === 'gzip' ? gzipMembers(t) : null));
const cursors = templates.map(() => 0);
let poolWraps = 0;
let counter = 0;

function next(): { path: string; headers: Record<string, string | number>; body: Buffer } {
  slot = (slot + 1) % sched.length;
  const i = sched[slot]!;
  const t = templates[i]!;
  counter++;
  let body: Buffer;
  const pool = pools[i];
  if (pool) {
    if (cursors[i] === pool.length) {
      cursors[i] = 0;
      poolWraps++;
    }
    body = pool[cursors[i]!++]!;
  } else {
    const id = Buffer.from(eventId(cfg.nonce, cfg.sender, counter));
    const g = Buffer.from(groupTag(counter % t.groups));
    const m = members[i];
    body = m
      ? Buffer.concat(m.map((p) => (p === 'I' ? storedMember(id) : p === 'G' ? storedMember(g) : p)))
      : Buffer.concat(t.pieces.map((p) => (p === 'I' ? id : p === 'G' ? g : p)));
  }
  return { path: t.path, headers: { ...t.headers, 'content-length': body.length }, body };
}

const agents = cfg.endpoints.map(() => new Agent({ keepAlive: true, maxSockets: Math.ceil(cfg.connections / cfg.endpoints.length) }));
const latencies: number[] = [];
const statuses: Record<string, number> = {};
let requests = 0;
let errors = 0;
let rejected = 0;
let started = 0;

function send(k: number): Promise<void> {
  const ep = cfg.endpoints[k % cfg.endpoints.length]!;
  const { path, headers, body } = next();
  started++;
  const t0 = performance.now();
  return new Promise((resolve) => {
    const req = request({ host: ep.host, port: ep.port, method: 'POST', path, headers, agent: agents[k % agents.length] }, (res) => {
      res.resume();
      res.on('end', () => {
        latencies.push(performance.now() - t0);
        requests++;
        const s = String(res.statusCode);
        statuses[s] = (statuses[s] ?? 0) + 1;
        if (!res.statusCode || res.statusCode >= 300) {
          errors++;
          rejected++;
        }
        resolve();
      });
    });
    req.on('error', (e) => {
      errors++;
      statuses[e.message] = (statuses[e.message] ?? 0) + 1;
      resolve();
    });
    req.end(body);
  });
}

const begin = performance.now();
let end = begin + cfg.durationMs;
// SIGTERM ends the run early (the latency phase stops its background load when the probes are done)
process.on('SIGTERM', () => (end = 0));
const more = () => performance.now() < end && (cfg.maxRequests === undefined || started < cfg.maxRequests);

async function closed(): Promise<void> {
  const loops = Array.from({ length: cfg.connections }, async (_, k) => {
    while (more()) await send(k);
  });
  await Promise.all(loops);
}

async function paced(rate: number): Promise<void> {
  const inflight = new Set<Promise<void>>();
  let k = 0;
  while (more()) {
    const due = Math.floor(((performance.now() - begin) / 1000) * rate);
    while (started < due && inflight.size < cfg.connections && more()) {
      const p = send(k++).then(() => void inflight.delete(p));
      inflight.add(p);
    }
    await new Promise((r) => setTimeout(r, 5));
  }
  await Promise.all(inflight);
}

await (cfg.rate ? paced(cfg.rate) : closed());
const result: NodeSenderResult = {
  requests,
  errors,
  rejected,
  statuses,
  durationMs: performance.now() - begin,
  latenciesMs: latencies.map((x) => Math.round(x * 100) / 100),
  poolWraps,
  cpuSec: (() => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1e6;
  })(),
};
process.stdout.write(JSON.stringify(result));
for (const a of agents) a.destroy();
