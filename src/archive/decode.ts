import { decompressStored } from '../protocol/compression.js';
import type { ArchiveRow } from './row.js';

// An archived payload's bytes as the client meant them: the stored bytes decompressed (the client's
// own encoding, ingest's brotli, or raw deflate against the row's dictionary).

/** A payload that cannot be used at all (the digest moves it to queue_error with this reason). */
export class PayloadError extends Error {}

export function decodePayload(row: ArchiveRow, limit: number): Buffer {
  try {
    return decompressStored(row.payload, row.encoding, limit, row.dict);
  } catch (e) {
    throw new PayloadError(`cannot decompress (${row.encoding}): ${(e as Error).message}`);
  }
}
