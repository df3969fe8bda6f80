import { ConfigError, loadConfig } from '../config/index.js';
import { createLogger } from '../log.js';
import { openDatabase } from '../storage/db.js';
import { startWorker } from '../digest/worker.js';
import { configureSymbolication } from '../sourcemaps/shared.js';
import { createHttpService } from './http.js';
import { tuneHeap } from './heap.js';
import type { AppContext } from './context.js';
import { createOutcomes } from '../outcomes/index.js';
import { createRateLimiter } from '../ratelimit/index.js';

const USAGE = `usage: crash-cache [--no-worker]   run the server (ingest + API + digest worker)
       crash-cache worker          run digest workers only (no HTTP)
Settings come from the environment and ./.env; see README.md.`;

export async function main(argv: string[]): Promise<void> {
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(USAGE);
    return;
  }
  tuneHeap();
  const workerOnly = argv[0] === 'worker';
  const noWorker = argv.includes('--no-worker');
  const unknown = argv.filter((a) => a !== 'worker' && a !== '--no-worker');
  if (unknown.length) {
    console.error(`crash-cache: unknown argument ${unknown[0]}\n${USAGE}`);
    process.exit(2);
  }
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
  configureSymbolication(config.sourcemapCacheBytes);
  const db = await openDatabase(config, { log: (m) => log.info(m), applicationName: workerOnly ? 'crash-cache-worker' : 'crash-cache' });
  let worker: ReturnType<typeof startWorker> | null = null;
  const ctx: AppContext = {
    config,
    db,
    log,
    wake: () => worker?.wake(),
    outcomes: createOutcomes(db.pool, log),
    limiter: createRateLimiter(config, db.pool, { log }),
  };
  if (!noWorker) worker = startWorker(ctx);
  const http = workerOnly ? null : createHttpService(ctx);
  if (http) {
    await new Promise<void>((resolve, reject) => {
      http.server.once('error', reject);
      http.server.listen(config.serverPort, config.serverHost, () => resolve());
    });
    const addr = http.server.address();
    const port = typeof addr === 'object' && addr ? addr.port : config.serverPort;
    log.info('listening', { url: `http://${config.serverHost}:${port}`, port, worker: !noWorker, embedded: !!db.embedded });
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
    await http?.close().catch((e) => log.error('http close failed', { error: String(e) }));
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
}
