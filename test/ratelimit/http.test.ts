import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshDatabase, type TestDatabase } from '../helpers/db.js';
import { cli, startServer, type RunningServer } from '../helpers/server.js';
import { createProject } from '../../src/storage/projects.js';
import { loadConfig } from '../../src/config/index.js';
import { createLogger } from '../../src/log.js';
import { Router } from '../../src/http/router.js';
import { sendError } from '../../src/http/respond.js';
import { createOutcomes } from '../../src/outcomes/index.js';
import { createRateLimiter } from '../../src/ratelimit/index.js';
import { registerApiRoutes } from '../../src/api/routes.js';
import { createToken } from '../../src/api/tokens.js';
import type { AppContext } from '../../src/context.js';

// Rate limits through the built server over real HTTP: per address with and without trusted
// proxies, per project with CLI overrides, /health never limited, every 429 counted as an outcome;
// and the outcome API routes. Assertions avoid timing: "at least one 429", "all accepted", and
// polling (bounded) where a server-side period must pass.

let db: TestDatabase;
let projectId: number;
let key: string;
const running: RunningServer[] = [];

beforeAll(async () => {
  db = await freshDatabase();
  const p = await createProject(db.pool, { name: 'limited' });
  projectId = p.project.id;
  key = p.key.public_key;
});
afterAll(async () => {
  for (const s of running) await s.stop();
  await db.drop();
});

async function server(env: Record<string, string>): Promise<RunningServer> {
  const s = await startServer({
    DATABASE_URL: db.url,
    RATE_LIMIT_GLOBAL_PER_SEC: '0',
    RATE_LIMIT_PER_IP_PER_SEC: '0',
    RATE_LIMIT_PER_PROJECT_PER_SEC: '0',
    RATE_LIMIT_BURST_SECS: '1',
    INGEST_KEY_CACHE_MS: '100',
    ...env,
  });
  running.push(s);
  return s;
}

function post(s: RunningServer, headers: Record<string, string> = {}) {
  const id = randomBytes(16).toString('hex');
  const body = `{"event_id":"${id}"}\n{"type":"event"}\n{"event_id":"${id}","message":"limited"}\n`;
  return fetch(`${s.url}/api/${projectId}/envelope/?sentry_key=${key}&sentry_version=7`, { method: 'POST', body, headers });
}

interface Answer {
  status: number;
  headers: Headers;
  body: any;
}

/** n requests at once, so a slow machine cannot spread them out long enough to refill a bucket. */
async function statuses(s: RunningServer, n: number, headers: (i: number) => Record<string, string> = () => ({})): Promise<Answer[]> {
  return Promise.all(
    Array.from({ length: n }, async (_, i) => {
      const r = await post(s, headers(i));
      return { status: r.status, headers: r.headers, body: await r.json() };
    }),
  );
}

async function until<T>(what: string, f: () => Promise<T | null | undefined | false>, ms = 15_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function rateLimitedOutcomes(reason: string): Promise<number> {
  const { rows } = await db.pool.query(`SELECT coalesce(sum(quantity), 0)::int AS n FROM outcome WHERE outcome = 'rate_limited' AND reason = $1 AND project_id = $2`, [reason, projectId]);
  return rows[0].n;
}

describe('per-address limit through the server', () => {
  it('ignores X-Forwarded-For from an untrusted peer: all requests share the socket address', async () => {
    const s = await server({ RATE_LIMIT_PER_IP_PER_SEC: '2' });
    const rs = await statuses(s, 10, (i) => ({ 'x-forwarded-for': `203.0.113.${i}` }));
    const refused = rs.filter((r) => r.status === 429);
    expect(refused.length).toBeGreaterThan(0);
    expect(refused[0]!.headers.get('x-sentry-rate-limits')).toMatch(/^\d+::key:ip_rate_limit$/);
    expect(Number(refused[0]!.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(refused[0]!.body.detail).toMatch(/rate limit exceeded \(ip/);
    // /health is never limited, however shut the bucket is.
    for (let i = 0; i < 20; i++) expect((await fetch(`${s.url}/health`)).status).toBe(200);
    // Every refusal becomes an outcome, written within about a second.
    await until('outcomes of the 429s', async () => (await rateLimitedOutcomes('ip_rate_limit')) === refused.length);
  });

  it('believes X-Forwarded-For and Forwarded from a trusted proxy: each client has its own bucket', async () => {
    const s = await server({ RATE_LIMIT_PER_IP_PER_SEC: '2', TRUSTED_PROXIES: '127.0.0.0/8,::1' });
    const distinct = await statuses(s, 10, (i) => ({ 'x-forwarded-for': `6.6.6.6, 203.0.113.${i}` }));
    expect(distinct.map((r) => r.status)).toEqual(Array(10).fill(200));
    const viaForwarded = await statuses(s, 10, (i) => ({ forwarded: `for="198.51.100.${i}:1234"` }));
    expect(viaForwarded.map((r) => r.status)).toEqual(Array(10).fill(200));
    // One client behind the proxy is limited (the forged left-most hop changes nothing).
    const same = await statuses(s, 10, (i) => ({ 'x-forwarded-for': `10.${i}.0.1, 192.0.2.77` }));
    expect(same.filter((r) => r.status === 429).length).toBeGreaterThan(0);
    // The client address is what ingest keeps with the payload.
    const { rows } = await db.pool.query(`SELECT meta->>'ip' AS ip FROM archive WHERE event_id = $1`, [same.find((r) => r.status === 200)!.body.id]);
    expect(rows).toEqual([{ ip: '192.0.2.77' }]);
  });
});

describe('per-project limit and overrides', () => {
  it('429s with the announced headers; the CLI override lifts and restores it', async () => {
    const s = await server({ RATE_LIMIT_PER_PROJECT_PER_SEC: '1' });
    const env = { DATABASE_URL: db.url };
    const before = await rateLimitedOutcomes('project_rate_limit');
    const rs = await statuses(s, 10);
    const refused = rs.filter((r) => r.status === 429);
    expect(refused.length).toBeGreaterThan(0);
    expect(refused[0]!.headers.get('retry-after')).toBe('1');
    expect(refused[0]!.headers.get('x-sentry-rate-limits')).toBe('1:error:project:project_rate_limit');
    await until('outcomes of the 429s', async () => (await rateLimitedOutcomes('project_rate_limit')) === before + refused.length);

    // Unlimited: once the key cache (100 ms) has the new value, a burst of 20 all pass.
    await cli(['project', 'update', String(projectId), '--rate-limit', '0'], env);
    await until('the override to apply', async () => (await statuses(s, 20)).every((r) => r.status === 200));
    // Back to the default (1/s): limited again.
    await cli(['project', 'update', String(projectId), '--rate-limit', 'default'], env);
    await until('the default to apply', async () => (await statuses(s, 10)).some((r) => r.status === 429));
  });
});

describe('outcome API routes', () => {
  let api: Server;
  let base = '';
  let token = '';
  beforeAll(async () => {
    const config = loadConfig({ DATABASE_URL: db.url, ORGANIZATION_SLUG: 'acme' }, '/nonexistent');
    const log = createLogger('error');
    const ctx: AppContext = {
      config,
      db: { pool: db.pool, url: db.url, embedded: null, close: async () => {} },
      log,
      wake: () => {},
      outcomes: createOutcomes(db.pool, log, { flushMs: 0 }),
      limiter: createRateLimiter(config, null),
    };
    const router = new Router();
    registerApiRoutes(router, ctx);
    api = createServer((req, res) => {
      const url = new URL(req.url!, 'http://x');
      Promise.resolve()
        .then(() => {
          const { handler, params } = router.match(req.method!, url.pathname);
          return handler(req, res, params, url);
        })
        .catch((e) => sendError(req, res, e, log));
    });
    await new Promise<void>((r) => api.listen(0, '127.0.0.1', () => r()));
    base = `http://127.0.0.1:${(api.address() as AddressInfo).port}`;
    token = (await createToken(db.pool, 'outcomes')).token;
    ctx.outcomes.record(projectId, 'too_large', 'MAX_EVENT_BYTES', 'error', 2);
    ctx.outcomes.record(null, 'unauthorized', 'invalid_key', 'default', 5);
    await ctx.outcomes.close();
    const hour = new Date(Date.now() - (Date.now() % 3_600_000));
    await db.pool.query(`INSERT INTO client_report_hourly VALUES ($1, $2, 'ratelimit_backoff', 'error', 4)`, [projectId, hour]);
  });
  afterAll(() => new Promise<void>((r) => api.close(() => r())));

  const get = (path: string, auth = true) => fetch(base + path, { headers: auth ? { authorization: `Bearer ${token}` } : {} });

  it('needs a token', async () => {
    expect((await get('/api/0/projects/acme/limited/outcomes/', false)).status).toBe(401);
  });

  it('project outcomes: totals and hourly rows, client reports included', async () => {
    const r = await get('/api/0/projects/acme/limited/outcomes/?statsPeriod=24h');
    expect(r.status).toBe(200);
    const j = await r.json();
    const byOutcome = (o: string) => j.totals.filter((t: any) => t.outcome === o).reduce((n: number, t: any) => n + t.quantity, 0);
    expect(byOutcome('too_large')).toBe(2);
    expect(byOutcome('client_discard')).toBe(4);
    expect(byOutcome('rate_limited')).toBeGreaterThan(0); // from the servers above
    expect(j.hourly.length).toBeGreaterThanOrEqual(j.totals.length);
    expect(j.totals.some((t: any) => t.outcome === 'unauthorized')).toBe(false); // another project's (NULL)
    expect((await get('/api/0/projects/other-org/limited/outcomes/')).status).toBe(404);
    expect((await get('/api/0/projects/acme/limited/outcomes/?statsPeriod=soon')).status).toBe(400);
  });

  it('stats_v2 in Sentry’s shape: intervals, groups by outcome and category, filters', async () => {
    const r = await get(`/api/0/organizations/acme/stats_v2/?field=sum(quantity)&groupBy=outcome&groupBy=category&statsPeriod=24h&interval=1h&project=${projectId}`);
    expect(r.status).toBe(200);
    const j = await r.json();
    expect(j.intervals).toHaveLength(24);
    expect(j.intervals.at(-1) < j.end).toBe(true);
    const g = j.groups.find((x: any) => x.by.outcome === 'client_discard' && x.by.category === 'error');
    expect(g.totals['sum(quantity)']).toBe(4);
    // sent minutes ago: in the current hour's bucket, or the one before when the hour just turned
    expect(g.series['sum(quantity)'].slice(-2).reduce((a: number, b: number) => a + b, 0)).toBe(4);
    expect(g.series['sum(quantity)'].reduce((a: number, b: number) => a + b, 0)).toBe(4);
    const all = await (await get('/api/0/organizations/acme/stats_v2/?field=sum(quantity)&groupBy=outcome&outcome=unauthorized&interval=1d')).json();
    expect(all.groups).toEqual([{ by: { outcome: 'unauthorized' }, totals: { 'sum(quantity)': 5 }, series: { 'sum(quantity)': [5] } }]);
    expect((await get('/api/0/organizations/acme/stats_v2/?field=sum(times_seen)')).status).toBe(400);
    expect((await get('/api/0/organizations/acme/stats_v2/?field=sum(quantity)&groupBy=colour')).status).toBe(400);
  });
});
