import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from '../config/index.js';
import { SMALL_MEMORY_BYTES } from '../config/settings.js';
import { VERSION } from '../version.js';
import { createLogger } from '../log.js';
import { openDatabase } from '../storage/db.js';
import { SchemaTooNewError } from '../storage/migrate.js';
import type { startWorker } from '../digest/worker.js';
import { canMeasureFreeSpace } from '../archive/retention/size.js';
import { configureSymbolication } from '../sourcemaps/shared.js';
import { startSiblings, type Siblings } from './siblings.js';
import { tuneHeap } from './heap.js';
import type { AppContext } from '../context.js';
import { createOutcomes } from '../outcomes/index.js';
import { collectProcessMetrics, gauge } from '../metrics/index.js';
import { registerDatabaseMetrics } from '../metrics/database.js';
import { startMetricsServer } from '../metrics/http.js';
import { createRateLimiter } from '../ratelimit/index.js';

const USAGE = `usage: crash-cache [--no-worker]   run the server (ingest + API + digest worker)
       crash-cache worker          run digest workers only (no HTTP)
       crash-cache --version       print the version
Settings come from the environment and ./.env; see README.md. Without DATABASE_URL the data
(an embedded PostgreSQL) lives in DATA_DIR, ./data under the directory it is started in.
HTTP_PROCESSES=N runs N HTTP processes on SERVER_PORT (Linux), the digest worker in the first.`;

/** `sibling`: one of the HTTP_PROCESSES the first process started (src/server/siblings.ts). */
export type ServerMode = { kind: 'help' } | { kind: 'version' } | { kind: 'run'; http: boolean; worker: boolean; sibling?: true };

/** The command line as a mode; a UsageError for unknown arguments and contradictions (`worker --no-worker`). */
export function parseServerArgs(argv: string[]): ServerMode {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      // --http-sibling is not in USAGE: only the first of HTTP_PROCESSES passes it, to the others.
      options: { 'no-worker': { type: 'boolean' }, 'http-sibling': { type: 'boolean' }, help: { type: 'boolean', short: 'h' }, version: { type: 'boolean', short: 'v' } },
    });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const { values, positionals } = parsed;
  if (values.help) return { kind: 'help' };
  if (values.version) return { kind: 'version' };
  if (positionals.length > 1 || (positionals.length === 1 && positionals[0] !== 'worker')) {
    throw new UsageError(`unknown argument ${JSON.stringify(positionals.find((p) => p !== 'worker') ?? positionals[1])}`);
  }
  const workerOnly = positionals[0] === 'worker';
  if (workerOnly && values['no-worker']) throw new UsageError('`worker --no-worker` would run nothing: pick one');
  if (values['http-sibling']) {
    if (workerOnly) throw new UsageError('`worker --http-sibling` would run nothing: pick one');
    return { kind: 'run', http: true, worker: false, sibling: true };
  }
  return { kind: 'run', http: !workerOnly, worker: !values['no-worker'] };
}

export class UsageError extends Error {}

export async function main(argv: string[]): Promise<void> {
  let mode: ServerMode;
  try {
    mode = parseServerArgs(argv);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    console.error(`crash-cache: ${e.message}\n${USAGE}`);
    process.exit(2);
  }
  if (mode.kind === 'help') return console.log(USAGE);
  if (mode.kind === 'version') return console.log(VERSION);
  tuneHeap();
  const workerOnly = !mode.http;
  const noWorker = !mode.worker;
  const sibling = mode.sibling === true;
  let config;
  try {
    config = loadConfig();
  } catch (e) {
    if (e instanceof ConfigError) {
      console.error(`crash-cache: invalid configuration: ${e.message}`);
      process.exit(2);
    }
    throw e;
  }
  const log = createLogger(config.logLevel);
  // Said once at start, so that whoever wonders why a small machine runs with fewer connections or
  // no digest thread knows (loadConfig sized the defaults).
  if (config.memoryBudget < SMALL_MEMORY_BYTES || config.cpus === 1) {
    log.info('sized for a small box', { memory_budget_mib: Math.round(config.memoryBudget / 1048576), cpus: config.cpus, db_pool_size: config.dbPoolSize, worker_batch_bytes: config.workerBatchBytes, worker_threads: config.workerThreads });
  }
  configureSymbolication(config.sourcemapCacheBytes);
  let worker: ReturnType<typeof startWorker> | null = null;
  let db;
  try {
    db = await openDatabase(config, {
      log: (m, f) => log.info(m, f),
      applicationName: workerOnly ? 'crash-cache-worker' : 'crash-cache',
      supervise: true,
      onRestarted: () => worker?.wake(),
    });
  } catch (e) {
    if (!(e instanceof SchemaTooNewError)) throw e;
    console.error(`crash-cache: ${e.message}`);
    process.exit(1);
  }
  if (config.storageMaxBytes !== undefined && !(await canMeasureFreeSpace(db.pool))) {
    console.error('crash-cache: invalid configuration: STORAGE_MAX_BYTES needs the pg_freespacemap extension to measure the space in use; create it as a superuser (CREATE EXTENSION pg_freespacemap) or unset STORAGE_MAX_BYTES');
    await db.close();
    process.exit(2);
  }
  const ctx: AppContext = {
    config,
    db,
    log,
    wake: () => worker?.wake(),
    outcomes: createOutcomes(db.pool, log),
    limiter: createRateLimiter(config, db.pool, { log }),
  };
  collectProcessMetrics();
  registerDatabaseMetrics(db.pool);
  gauge('crash_cache_build_info', 'The running release and Node.js version (value 1).', ['version', 'node', 'mode']).set({ version: VERSION, node: process.version, mode: workerOnly ? 'worker' : noWorker ? 'http' : 'all' }, 1);
  const metricsServer = sibling ? null : await startMetricsServer(config, log);
  // Each half is loaded only by the processes that run it: `crash-cache worker` without the HTTP
  // routes, API and UI idles at 102.7 instead of 109.8 MB. (`--no-worker` gains nothing measurable:
  // the API and ingest import most of the digest's modules themselves.)
  if (!noWorker) worker = (await import('../digest/worker.js')).startWorker(ctx);
  const http = workerOnly ? null : (await import('./http.js')).createHttpService(ctx);
  let siblings: Siblings | null = null;
  if (http) {
    // With HTTP_PROCESSES > 1 every HTTP process binds the port with SO_REUSEPORT (Node ≥ 22.12, Linux).
    const reusePort = config.httpProcesses > 1;
    await new Promise<void>((resolve, reject) => {
      http.server.once('error', reject);
      http.server.listen({ port: config.serverPort, host: config.serverHost, reusePort }, () => resolve());
    });
    const addr = http.server.address();
    const port = typeof addr === 'object' && addr ? addr.port : config.serverPort;
    if (reusePort && !sibling) siblings = startSiblings({ count: config.httpProcesses - 1, port, databaseUrl: db.url, log });
    log.info('listening', { url: `http://${config.serverHost}:${port}`, port, worker: !noWorker, embedded: !!db.embedded, pid: process.pid, ...(reusePort ? { http_processes: config.httpProcesses, sibling } : {}) });
  } else {
    log.info('worker running', { embedded: !!db.embedded });
  }

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info('shutting down', { signal });
    // Stop taking requests and let in-flight ones commit; then let the worker finish or hand back
    // its batch (an uncommitted batch is simply claimed again later); then stop the database.
    const hard = setTimeout(() => {
      log.error('shutdown took over 30 s; exiting');
      process.exit(1);
    }, 30_000);
    hard.unref();
    await Promise.all([
      http?.close().catch((e) => log.error('http close failed', { error: String(e) })),
      siblings?.stop().catch((e) => log.error('stopping http processes failed', { error: String(e) })),
    ]);
    metricsServer?.closeAllConnections();
    metricsServer?.close();
    await worker?.stop().catch((e) => log.error('worker stop failed', { error: String(e) }));
    await ctx.outcomes.close().catch((e) => log.error('outcomes flush failed', { error: String(e) }));
    await ctx.limiter.close().catch(() => {});
    await db.close().catch((e) => log.error('database close failed', { error: String(e) }));
    log.info('stopped');
    process.exit(0);
  };
  // A promise nobody awaited that rejects is a bug to fix, not a reason to drop every in-flight request:
  // log it with its stack and keep serving (Node's default would exit with code 1).
  process.on('unhandledRejection', (reason) => {
    log.error('unhandled promise rejection', { error: (reason as Error)?.stack ?? String(reason) });
  });
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
  // A sibling goes with the first process, however that one ended (its IPC channel closes).
  if (sibling) process.on('disconnect', () => void shutdown('first process gone'));
}
