import { parentPort, workerData } from 'node:worker_threads';
import pg from 'pg';
import { unpackRequest, type PrepareRequest } from './prepare-message.js';
import { prepareBatchWithMaps, type SymbolicateFn } from './prepare.js';
import { Symbolicator } from '../sourcemaps/resolve.js';

// Worker-thread entry of the prepare pool: prepares batches posted by the digest worker.

/** The dictionaries this thread was sent (prepare-message.ts). */
const dicts = new Map<number, Buffer>();

// Source maps: this thread reads them itself (one connection, opened by the first JavaScript event
// that may have a map) and keeps its own cache of parsed maps (SOURCEMAP_CACHE_BYTES).
const maps = workerData as { dbUrl?: string; cacheBytes?: number } | null;
let symbolicate: SymbolicateFn | undefined;
if (maps?.dbUrl) {
  const symbolicator = new Symbolicator(maps.cacheBytes ?? 0);
  let pool: pg.Pool | null = null;
  symbolicate = (events) => {
    if (!pool) {
      pool = new pg.Pool({ connectionString: maps.dbUrl, max: 1, application_name: 'crash-cache-sourcemaps' });
      pool.on('error', () => {}); // an idle connection lost: the next query reconnects
    }
    return symbolicator.symbolicate(pool, events);
  };
}

parentPort!.on('message', (m: PrepareRequest) => {
  prepareBatchWithMaps(unpackRequest(m, dicts), m.maxBytes, m.rules, m.scrub, symbolicate).then(
    (result) => parentPort!.postMessage({ id: m.id, result }),
    // The code goes along: a database error while looking maps up is transient like any (BatchError.transient).
    (e: unknown) => parentPort!.postMessage({ id: m.id, error: (e as Error)?.stack ?? String(e), code: (e as { code?: unknown })?.code }));
});
