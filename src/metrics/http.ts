import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { timingSafeEqual } from 'node:crypto';
import type { Config } from '../config/index.js';
import { HttpError } from '../http/errors.js';
import { sendError } from '../http/respond.js';
import type { Router } from '../http/router.js';
import type { Logger } from '../log.js';
import { CONTENT_TYPE, histogram, render } from './index.js';

// GET /metrics, the Prometheus text exposition. Who reaches it: on the main port anyone who reaches
// the server (SDKs with a public DSN included), so there it answers only with METRICS_TOKEN as a
// bearer token; without METRICS_TOKEN it is off there. On METRICS_PORT (a port a firewall keeps
// for the scraper) it answers without a token unless METRICS_TOKEN is set. Nothing secret is in
// the metrics, but counts by project and reason are an operator's business.

function tokenMatches(req: IncomingMessage, token: string): boolean {
  const m = /^Bearer\s+(\S+)$/i.exec(String(req.headers.authorization ?? ''));
  if (!m) return false;
  const a = Buffer.from(m[1]!);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

async function serve(req: IncomingMessage, res: ServerResponse, token: string | undefined, onMainPort: boolean): Promise<void> {
  if (onMainPort && !token) throw new HttpError('not_found', 'metrics are off on this port: set METRICS_TOKEN (bearer) or METRICS_PORT');
  if (token && !tokenMatches(req, token)) throw new HttpError('unauthorized', 'metrics need METRICS_TOKEN as "Authorization: Bearer <token>"', { 'www-authenticate': 'Bearer' });
  const body = await render();
  res.writeHead(200, { 'content-type': CONTENT_TYPE, 'cache-control': 'no-store' }).end(body);
}

export function registerMetricsRoute(router: Router, config: Readonly<Config>): void {
  router.add('GET', '/metrics', (req, res) => serve(req, res, config.metricsToken, true));
}

/** The METRICS_PORT listener (also in `crash-cache worker`, which has no other HTTP); null when unset. */
export async function startMetricsServer(config: Readonly<Config>, log: Logger): Promise<Server | null> {
  if (!config.metricsPort) return null;
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const p = req.method === 'GET' && path === '/metrics' ? serve(req, res, config.metricsToken, false) : Promise.reject(new HttpError('not_found', 'only GET /metrics is served on METRICS_PORT'));
    p.catch((e) => sendError(req, res, e, log));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.metricsPort, config.serverHost, () => resolve());
  });
  const addr = server.address();
  log.info('metrics listening', { port: typeof addr === 'object' && addr ? addr.port : config.metricsPort });
  return server;
}

const requestSeconds = histogram('crash_cache_http_request_duration_seconds', 'HTTP requests by part (ingest, api, ui, health, metrics) and status class, from arrival to the last byte sent.',
  ['part', 'status'], [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]);

/** Times a request of the main HTTP server into crash_cache_http_request_duration_seconds. */
export function timeRequest(res: ServerResponse, part: string): void {
  const start = process.hrtime.bigint();
  res.once('finish', () => {
    requestSeconds.observe({ part, status: `${Math.floor(res.statusCode / 100)}xx` }, Number(process.hrtime.bigint() - start) / 1e9);
  });
}
