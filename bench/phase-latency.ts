import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { apiGet, post, createToken, isMissingRoute, ORG } from './api.js';
import { percentile, round, workloadOf, type BenchContext } from './context.js';
import { runLoad } from './load.js';
import { sampleMemory, startCrashCache, type MemoryPeak } from './procs.js';
import { buildTemplates, encode, groupTag, render } from './workload.js';

// Latency: from the moment an SDK starts sending an event (the bytes @sentry/node 11 sends, a fresh
// event id each) until GET /api/0/projects/{org}/{project}/events/{id}/ finds it, while a background
// load of `backgroundRate` events/s of the mixed workload keeps the server (ingest and worker in one
// process, as deployed by default) busy. Probes go one at a time, 100-300 ms apart, polling every 10 ms,
// after `latencyWarmup` s of the background load alone: a fresh installation's first seconds create
// the mix's ~1,000 issues and warm the worker's code, which is a start-up cost, not the latency of a
// running server (the target, p95 < 100 ms at 100 events/s, is issue #22's, for the running server).

export interface LatencyResult {
  probes: number;
  /** 'api' = the events endpoint answered 200; 'database' = the endpoint does not exist yet, so the report row was polled instead */
  via: 'api' | 'database';
  p50Ms: number;
  p95Ms: number;
  maxMs: number;
  timedOut: number;
  /** 5xx answers to the polling GETs (counted, polled again) */
  unavailable: number;
  backgroundRps: number;
  backgroundErrors: number;
  memory: MemoryPeak;
}

export async function runLatency(ctx: BenchContext): Promise<LatencyResult> {
  const { opts, log } = ctx;
  const db = await ctx.pg.create('latency');
  const server = await startCrashCache({ databaseUrl: db.url });
  try {
    const token = await createToken(db);
    const target = { projectId: db.projectId, key: db.key };
    const probe = buildTemplates(target, { ...workloadOf(ctx, 'repeated', 1), variants: 1 })[0]!;
    const secs = opts.latencyWarmup + opts.probes * 16 + 5; // ended early below, once the probes are done
    const stopBackground = new AbortController();
    log(`latency: ${opts.probes} probes under ${opts.backgroundRate} events/s of background load`);
    const background = runLoad(
      { endpoints: [{ host: '127.0.0.1', port: server.port }], connections: 100, senders: 1, durationSec: secs, rate: opts.backgroundRate, workload: workloadOf(ctx, 'mix', opts.groups), target, expected: opts.backgroundRate * (opts.latencyWarmup + opts.probes + 5), signal: stopBackground.signal },
      'node',
    );
    const mem = sampleMemory([server]);
    await new Promise((r) => setTimeout(r, 500 + opts.latencyWarmup * 1000));
    const times: number[] = [];
    let timedOut = 0;
    let unavailable = 0;
    let via: 'api' | 'database' = 'api';
    for (let i = 0; i < opts.probes; i++) {
      const id = randomBytes(16).toString('hex');
      const body = encode(probe, render(probe, id, groupTag(0)));
      const t0 = performance.now();
      const status = await post(server.port, probe.path, probe.headers, body);
      if (status !== 200) throw new Error(`latency probe answered ${status}`);
      let seen = false;
      while (performance.now() - t0 < 15_000) {
        if (via === 'api') {
          const a = await apiGet(server.port, `/api/0/projects/${ORG}/${db.projectSlug}/events/${id}/`, token);
          if (a.status === 200) seen = true;
          else if (isMissingRoute(a)) {
            log('latency: the events endpoint does not exist yet; polling the report table instead');
            via = 'database';
          } else if (a.status >= 500) unavailable++;
          else if (a.status !== 404) throw new Error(`events endpoint answered ${a.status}: ${a.body.slice(0, 200)}`);
        } else {
          const { rowCount } = await db.pool.query('SELECT 1 FROM report WHERE project_id = $1 AND event_id = $2', [db.projectId, id]);
          seen = !!rowCount;
        }
        if (seen) break;
        await new Promise((r) => setTimeout(r, 10));
      }
      if (seen) times.push(performance.now() - t0);
      else timedOut++;
      await new Promise((r) => setTimeout(r, 100 + Math.random() * 200));
    }
    const memory = mem.stop();
    stopBackground.abort();
    const bg = await background;
    times.sort((a, b) => a - b);
    return {
      probes: opts.probes,
      via,
      p50Ms: round(percentile(times, 50), 1),
      p95Ms: round(percentile(times, 95), 1),
      maxMs: round(times[times.length - 1] ?? 0, 1),
      timedOut,
      unavailable,
      backgroundRps: round(bg.rps, 1),
      backgroundErrors: bg.errors,
      memory,
    };
  } finally {
    await server.stop();
    await db.drop();
  }
}
