import { parentPort } from 'node:worker_threads';
import type { ArchiveRow } from './payload.js';
import { prepareBatch } from './prepare.js';
import type { ProjectRules } from './project-rules.js';

// Worker-thread entry of the prepare pool: prepares batches posted by the digest worker.

interface Request {
  id: number;
  rows: ArchiveRow[];
  maxBytes: number;
  rules: Record<number, ProjectRules>;
}

parentPort!.on('message', (m: Request) => {
  try {
    // Buffers arrive as plain Uint8Arrays: give them Buffer's methods back (no copy).
    for (const r of m.rows) r.payload = Buffer.from(r.payload.buffer, r.payload.byteOffset, r.payload.byteLength);
    parentPort!.postMessage({ id: m.id, result: prepareBatch(m.rows, m.maxBytes, m.rules) });
  } catch (e) {
    parentPort!.postMessage({ id: m.id, error: (e as Error)?.stack ?? String(e) });
  }
});
