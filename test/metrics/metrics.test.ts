import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { PACKAGE_ROOT } from '../../src/paths.js';
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, type TestApp } from '../helpers/app.js';
import { startServer, type RunningServer } from '../helpers/server.js';

// GET /metrics against the real server, parsed by a real Prometheus text-format parser: the
// exposition is valid, carries what the README promises, and counts what happened; and who may read it.

interface Family { name: string; type: string; metrics: { labels?: Record<string, string>; value?: string; count?: string; buckets?: Record<string, string> }[] }

const TOKEN = 'metrics-test-token-0123456789';
let app: TestApp;

type Scrape = Map<string, Family> & { text: string };

async function scrape(url: string, token = TOKEN): Promise<Scrape> {
  const r = await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${token}` } });
  expect(r.status, await r.clone().text()).toBe(200);
  expect(r.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  const text = await r.text();
  // The parser throws on any line that is not valid text exposition.
  const families = parsePrometheusTextFormat(text) as Family[];
  return Object.assign(new Map(families.map((f) => [f.name, f])), { text });
}
const value = (m: Scrape, name: string, labels: Record<string, string> = {}): number | undefined => {
  const s = m.get(name)?.metrics.find((x) => Object.entries(labels).every(([k, v]) => x.labels?.[k] === v));
  return s ? Number(s.value ?? s.count) : undefined;
};
/**
 * The _count of one labelled histogram series. The parser (like prom2json) merges a histogram's
 * labelled series into one, so the sample line is read here; the parser has validated it.
 */
const histogramCount = (m: Scrape, name: string, labels: Record<string, string>): number | undefined => {
  for (const line of m.text.split('\n')) {
    const hit = new RegExp(`^${name}_count\\{(.*)\\} (\\S+)$`).exec(line);
    if (hit && Object.entries(labels).every(([k, v]) => hit[1]!.includes(`${k}="${v}"`))) return Number(hit[2]);
  }
  return undefined;
};

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

beforeAll(async () => {
  app = await startApp('metrics', { METRICS_TOKEN: TOKEN });
});
afterAll(async () => {
  await app?.close();
});

describe('GET /metrics', () => {
  it('counts ingest outcomes, times requests, reads the queue and alerts, and reports the process', async () => {
    const send = (auth: string, id: string) =>
      fetch(`${app.server.url}/api/${app.projectId}/store/`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-sentry-auth': auth },
        body: JSON.stringify({ event_id: id, message: 'metrics', platform: 'python' }),
      });
    expect((await send(app.auth, 'a'.repeat(32))).status).toBe(200);
    expect((await send('Sentry sentry_key=ffffffffffffffffffffffffffffffff, sentry_version=7', 'b'.repeat(32))).status).toBe(401);

    // The digest runs in the server: wait until it has stored the event (no clock involved).
    let m = await scrape(app.server.url);
    for (let i = 0; i < 300 && (value(m, 'crash_cache_digest_events_total') ?? 0) < 1; i++) {
      await new Promise((r) => setTimeout(r, 100));
      m = await scrape(app.server.url);
    }
    expect(value(m, 'crash_cache_ingest_requests_total', { outcome: 'accepted', reason: 'stored', category: 'error' })).toBe(1);
    expect(value(m, 'crash_cache_ingest_requests_total', { outcome: 'unauthorized' })).toBe(1);
    expect(m.get('crash_cache_http_request_duration_seconds')?.type).toBe('HISTOGRAM');
    expect(m.get('crash_cache_http_request_duration_seconds')?.metrics[0]?.buckets?.['+Inf']).toBeDefined();
    expect(histogramCount(m, 'crash_cache_http_request_duration_seconds', { part: 'ingest', status: '2xx' })).toBe(1);
    expect(histogramCount(m, 'crash_cache_http_request_duration_seconds', { part: 'ingest', status: '4xx' })).toBe(1);
    expect(value(m, 'crash_cache_digest_events_total')).toBe(1);
    expect(value(m, 'crash_cache_digest_payloads_total')).toBe(1);
    expect(Number(m.get('crash_cache_digest_batch_duration_seconds')?.metrics[0]?.count)).toBeGreaterThanOrEqual(1);
    expect(value(m, 'crash_cache_database_up')).toBe(1);
    expect(value(m, 'crash_cache_queue_depth')).toBe(0);
    expect(value(m, 'crash_cache_queue_oldest_age_seconds')).toBe(0);
    expect(value(m, 'crash_cache_alerts', { status: 'pending' })).toBe(0);
    expect(value(m, 'crash_cache_alerts', { status: 'failed' })).toBe(0);
    expect(value(m, 'crash_cache_issue_emails', { status: 'pending' })).toBe(0);
    expect(value(m, 'crash_cache_db_pool_connections', { state: 'in_use' })).toBeGreaterThanOrEqual(0);
    for (const name of ['crash_cache_nodejs_eventloop_lag_seconds', 'crash_cache_nodejs_heap_size_used_bytes', 'crash_cache_process_resident_memory_bytes']) {
      expect(value(m, name), name).toBeGreaterThan(0);
    }
    expect(m.get('crash_cache_build_info')?.metrics[0]?.labels?.node).toMatch(/^v\d+\./);
    // Every metric the Grafana dashboard queries exists.
    const dashboard = readFileSync(join(PACKAGE_ROOT, 'docs', 'grafana-dashboard.json'), 'utf8');
    const used = new Set([...dashboard.matchAll(/crash_cache_[a-z0-9_]+/g)].map((x) => x[0].replace(/_(bucket|count|sum)$/, '')));
    expect(used.size).toBeGreaterThan(10);
    for (const name of used) expect(m.has(name), `${name} (docs/grafana-dashboard.json)`).toBe(true);
  });

  it('reads queued payloads and pending alerts from the database at scrape time', async () => {
    await app.db.pool.query(`INSERT INTO archive (project_id, sha256, kind, encoding, stored_size, raw_size, received_at, meta, payload)
      VALUES ($1, '\\x00', 'store', 'identity', 2, 2, now(), '{}', '{}')`, [app.projectId]);
    // A queue row that failed once and is not due for an hour: counted, not digested while we look.
    await app.db.pool.query(`INSERT INTO queue (project_id, archive_id, enqueued_at, run_after, attempts, last_error)
      SELECT project_id, id, now() - interval '90 seconds', now() + interval '1 hour', 1, 'test' FROM archive WHERE sha256 = '\\x00'`);
    const m = await scrape(app.server.url);
    expect(value(m, 'crash_cache_queue_depth')).toBe(1);
    expect(value(m, 'crash_cache_queue_retrying')).toBe(1);
    expect(value(m, 'crash_cache_queue_oldest_age_seconds')).toBeGreaterThanOrEqual(90);
    const health = (await (await fetch(`${app.server.url}/health`)).json()) as { queued: number; retrying: number };
    expect([health.queued, health.retrying]).toEqual([1, 1]);
  });

  it('answers only with the bearer token on the main port', async () => {
    expect((await fetch(`${app.server.url}/metrics`)).status).toBe(401);
    const wrong = await fetch(`${app.server.url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}x` } });
    expect(wrong.status).toBe(401);
    expect(((await wrong.json()) as { detail: string }).detail).toMatch(/METRICS_TOKEN/);
  });
});

describe('metrics without METRICS_TOKEN', () => {
  let servers: RunningServer[] = [];
  afterAll(async () => {
    for (const s of servers) await s.stop();
  });

  it('are off on the main port and served on METRICS_PORT, by a digest-only worker too', async () => {
    const [httpPort, workerPort] = [await freePort(), await freePort()];
    const withHttp = await startServer({ DATABASE_URL: app.db.url, METRICS_PORT: String(httpPort) });
    const worker = await startServer({ DATABASE_URL: app.db.url, METRICS_PORT: String(workerPort) }, ['worker']);
    servers = [withHttp, worker];
    const off = await fetch(`${withHttp.url}/metrics`);
    expect(off.status).toBe(404);
    expect(((await off.json()) as { detail: string }).detail).toMatch(/METRICS_TOKEN.*METRICS_PORT/);
    const other = await fetch(`http://127.0.0.1:${httpPort}/api/0/projects/`);
    expect(other.status).toBe(404);
    const m = await scrape(`http://127.0.0.1:${httpPort}`, '');
    expect(value(m, 'crash_cache_database_up')).toBe(1);
    const w = await scrape(`http://127.0.0.1:${workerPort}`, '');
    expect(w.get('crash_cache_build_info')?.metrics[0]?.labels?.mode).toBe('worker');
    expect(w.has('crash_cache_digest_batch_duration_seconds')).toBe(true);
  });
});

describe('MAX_CONCURRENT_COMPRESSIONS', () => {
  let server: RunningServer | undefined;
  afterAll(async () => {
    await server?.stop();
  });

  it('never has more decompressions in flight than the setting, even when many gzip bodies arrive at once', async () => {
    server = await startServer({ DATABASE_URL: app.db.url, METRICS_TOKEN: TOKEN, MAX_CONCURRENT_COMPRESSIONS: '1', RATE_LIMIT_GLOBAL_PER_SEC: '0', RATE_LIMIT_PER_IP_PER_SEC: '0', RATE_LIMIT_PER_PROJECT_PER_SEC: '0' });
    // ~450 KB of gzip each (random hex halves), far past the 64 KB that is inflated in line on the request
    // thread: each one goes through the semaphore.
    const bodies = Array.from({ length: 16 }, (_, i) => {
      const event = { event_id: randomBytes(16).toString('hex'), message: `big ${i}`, extra: { blob: randomBytes(450_000).toString('hex') } };
      return gzipSync(`${JSON.stringify({ event_id: event.event_id })}\n{"type":"event"}\n${JSON.stringify(event)}\n`);
    });
    expect(bodies[0]!.length).toBeGreaterThan(400_000);
    const answers = await Promise.all(bodies.map((body) => fetch(`${server!.url}/api/${app.projectId}/envelope/`, {
      method: 'POST',
      headers: { 'x-sentry-auth': app.auth, 'content-encoding': 'gzip', 'content-type': 'application/x-sentry-envelope' },
      body,
    })));
    expect(answers.map((r) => r.status)).toEqual(bodies.map(() => 200));
    const m = await scrape(server.url);
    // the bound was exercised (some had to wait) and held
    expect(value(m, 'crash_cache_ingest_compressions_waited')).toBeGreaterThan(0);
    expect(value(m, 'crash_cache_ingest_compressions_peak')).toBe(1);
    expect(value(m, 'crash_cache_ingest_compressions', { state: 'in_flight' })).toBe(0);
    expect(value(m, 'crash_cache_ingest_compressions', { state: 'waiting' })).toBe(0);
  });
});
