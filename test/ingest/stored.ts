import { gunzipSync, inflateSync } from 'node:zlib';
import type pg from 'pg';
import { decompressStored, type StoredEncoding } from '../../src/protocol/compression.js';

// Test helpers: the bytes an archived payload stands for, whatever it is stored as (a client's
// Content-Encoding, ingest's brotli, or deflate against an archive_dict dictionary).

export interface StoredRow {
  project_id?: number;
  encoding: StoredEncoding;
  payload: Buffer;
  dict_id?: number | null;
}

/** Decompresses an archive row, loading its dictionary (if any) from the database. */
export async function storedBytes(pool: pg.Pool, row: StoredRow, projectId?: number): Promise<Buffer> {
  let dict: Buffer | null = null;
  if (row.dict_id != null) {
    const { rows } = await pool.query('SELECT bytes FROM archive_dict WHERE project_id = $1 AND id = $2', [row.project_id ?? projectId, row.dict_id]);
    dict = rows[0]?.bytes ?? null;
  }
  return decompressStored(row.payload, row.encoding, 1 << 26, dict);
}

/** A request body as the server decompressed it. */
export function rawOf(body: Buffer, contentEncoding: string | undefined): Buffer {
  if (contentEncoding === 'gzip') return gunzipSync(body);
  if (contentEncoding === 'deflate') return inflateSync(body);
  return body;
}
