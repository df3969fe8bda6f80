import { parentPort } from 'node:worker_threads';
import { unpackRequest, type PrepareRequest } from './prepare-message.js';
import { prepareBatch } from './prepare.js';

// Worker-thread entry of the prepare pool: prepares batches posted by the digest worker.

/** The dictionaries this thread was sent (prepare-message.ts). */
const dicts = new Map<number, Buffer>();

parentPort!.on('message', (m: PrepareRequest) => {
  try {
    parentPort!.postMessage({ id: m.id, result: prepareBatch(unpackRequest(m, dicts), m.maxBytes, m.rules, m.scrub) });
  } catch (e) {
    parentPort!.postMessage({ id: m.id, error: (e as Error)?.stack ?? String(e) });
  }
});
