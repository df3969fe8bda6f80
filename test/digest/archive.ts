import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import type pg from 'pg';
import { DIGEST_LOCK, digestBatch } from '../../src/digest/batch.js';
import { foldNow } from '../../src/digest/fold.js';
import { DimCache } from '../../src/digest/dims.js';
import { SDK_PAYLOADS } from '../fixtures/corpus.js';

// Test helpers: put payloads into archive + queue exactly as ingest does (migrations/0001), digest
// them with the worker's own batch function, and read the SDK fixture corpus (test/fixtures/sdk-payloads) as (kind, bytes) pairs.


export interface Payload {
  kind: 'envelope' | 'store' | 'security' | 'minidump';
  body: Buffer;
  meta?: Record<string, unknown>;
  receivedAt?: Date;
}

export async function enqueue(pool: pg.Pool | pg.ClientBase, projectId: number, payloads: Payload[], opts: { gzip?: boolean } = {}): Promise<number[]> {
  if (!payloads.length) return [];
  const bodies = payloads.map((p) => (opts.gzip ? gzipSync(p.body, { level: 1 }) : p.body));
  const { rows } = await pool.query<{ id: number }>(
    `WITH a AS (
       INSERT INTO archive (project_id, sha256, kind, encoding, event_id, stored_size, raw_size, received_at, meta, payload)
       SELECT $1, sha, kind, $2, NULL, length(body), raw, coalesce(r, now()), meta, body
         FROM unnest($3::bytea[], $4::text[], $5::int[], $6::timestamptz[], $7::jsonb[], $8::bytea[]) AS v(sha, kind, raw, r, meta, body)
       ON CONFLICT DO NOTHING RETURNING project_id, id)
     INSERT INTO queue (project_id, archive_id) SELECT project_id, id FROM a ORDER BY id RETURNING archive_id AS id`,
    [projectId, opts.gzip ? 'gzip' : 'identity', bodies.map((b) => createHash('sha256').update(b).digest()), payloads.map((p) => p.kind),
      payloads.map((p) => p.body.length), payloads.map((p) => p.receivedAt ?? null), payloads.map((p) => JSON.stringify(p.meta ?? {})), bodies]);
  return rows.map((r) => r.id);
}

export function envelope(header: Record<string, unknown>, items: [Record<string, unknown>, unknown][]): Buffer {
  const parts: Buffer[] = [Buffer.from(JSON.stringify(header) + '\n')];
  for (const [h, p] of items) {
    const body = Buffer.isBuffer(p) ? p : Buffer.from(typeof p === 'string' ? p : JSON.stringify(p));
    parts.push(Buffer.from(JSON.stringify({ ...h, length: body.length }) + '\n'), body, Buffer.from('\n'));
  }
  return Buffer.concat(parts);
}

export interface Fixture {
  name: string;
  payload: Payload;
}

/** Every distinct payload of test/fixtures/sdk-payloads as the endpoint it was sent to would archive it. */
export function fixtureCorpus(): Fixture[] {
  const root = SDK_PAYLOADS;
  const out: Fixture[] = [];
  for (const dir of readdirSync(root, { withFileTypes: true })) {
    if (!dir.isDirectory()) continue;
    for (const f of readdirSync(join(root, dir.name)).sort()) {
      const name = `${dir.name}/${f}`;
      const buf = readFileSync(join(root, dir.name, f));
      if (f.endsWith('.gz') || f.endsWith('.request.json')) continue;
      if (f.endsWith('.envelope')) out.push({ name, payload: { kind: 'envelope', body: buf } });
      else if (f.endsWith('.dmp')) out.push({ name, payload: { kind: 'minidump', body: buf, meta: { content_type: 'application/octet-stream' } } });
      else if (f.endsWith('.json')) {
        const j = JSON.parse(buf.toString('utf8')) as unknown;
        if (dir.name === 'security') out.push({ name, payload: { kind: 'security', body: buf } });
        else if (Array.isArray(j)) {
          // GlitchTip's JSON-array form of an envelope: [header, item header, payload, ...]
          const items: [Record<string, unknown>, unknown][] = [];
          for (let i = 1; i + 1 < j.length; i += 2) items.push([j[i] as Record<string, unknown>, j[i + 1]]);
          out.push({ name, payload: { kind: 'envelope', body: envelope(j[0] as Record<string, unknown>, items) } });
        } else if (/checkin/.test(f)) out.push({ name, payload: { kind: 'envelope', body: envelope({}, [[{ type: 'check_in' }, j]]) } });
        else if (/_logs/.test(f)) out.push({ name, payload: { kind: 'envelope', body: envelope({}, [[{ type: 'log', item_count: 1 }, j]]) } });
        else out.push({ name, payload: { kind: 'store', body: buf } });
      }
    }
  }
  return out;
}

/** Digests batch after batch on one connection until the queue has nothing ready. */
export async function digestAll(pool: pg.Pool, cache = new DimCache(), batchSize = 100): Promise<void> {
  const client = await pool.connect();
  try {
    while ((await digestBatch(client, { batchSize, maxBytes: 1 << 20, cache })).claimed);
  } finally {
    client.release();
  }
}

/** One digest batch on a connection of its own. */
export async function digestOneBatch(pool: pg.Pool, cache: DimCache, batchSize: number) {
  const client = await pool.connect();
  try {
    return await digestBatch(client, { batchSize, maxBytes: 1 << 20, cache });
  } finally {
    client.release();
  }
}

/** One fold of the issue counters (the worker's foldNow) on a connection of its own. */
export async function foldOnce(pool: pg.Pool) {
  const client = await pool.connect();
  try {
    return await foldNow(client, DIGEST_LOCK);
  } finally {
    client.release();
  }
}
