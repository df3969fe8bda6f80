import zlib from 'node:zlib';
import type { Json } from '../protocol/event.js';
import type { ArchiveRow } from '../archive/row.js';
import type { Item, ParsedPayload } from './payload.js';

// The archived payload written back after data scrubbing changed one of its items (or dropped the
// bytes of one it could not read), so that the archive — which `loadEvent`, `explain` and `ruminate`
// read again — never holds what was scrubbed (src/archive/rewrite.ts stores it in the batch's
// transaction). An envelope stays an envelope, each item with its headers and a `length`; a store
// body becomes the scrubbed event; a security report becomes the event made from it (kind `store`),
// and a minidump upload an envelope of its event and its attachments (the same item indexes, so
// reports and attachments still point at the right items). Compressed with brotli quality 1, as
// ingest stores uncompressed bodies (src/ingest/codec.ts); the row's dictionary is no longer used.

/** One archive row to update; `payload` null = only `meta` changes (the client address left it). */
export interface ArchiveRewrite {
  projectId: number;
  archiveId: number;
  kind: 'envelope' | 'store' | null;
  payload: Uint8Array | null;
  rawSize: number | null;
  meta: Json;
}

const NL = Buffer.from('\n');

function line(v: unknown): Buffer {
  return Buffer.from(JSON.stringify(v));
}

/** The payload bytes for a parsed payload whose items' `payload` hold their (scrubbed) bytes. */
export function rebuildPayload(row: ArchiveRow, parsed: ParsedPayload): { kind: 'envelope' | 'store'; body: Buffer } {
  if (row.kind === 'store' || row.kind === 'security') {
    const item = parsed.items[0]!;
    return { kind: 'store', body: item.payload.length ? item.payload : line(item.json ?? {}) };
  }
  const headers: Json = row.kind === 'envelope' ? parsed.envelopeHeaders : parsed.eventId ? { event_id: parsed.eventId } : {};
  const parts: Buffer[] = [line(headers)];
  for (const item of parsed.items) {
    // A minidump's event item is made by the digest and has no bytes of its own yet.
    const payload = item.payload.length === 0 && item.json !== undefined && !item.invalid ? line(item.json) : item.payload;
    parts.push(NL, line({ ...itemHeaders(item), length: payload.length }), NL, payload);
  }
  parts.push(NL);
  return { kind: 'envelope', body: Buffer.concat(parts) };
}

function itemHeaders(item: Item): Json {
  const { length: _length, ...rest } = item.headers;
  return rest;
}

export function compressRewrite(body: Buffer): Buffer {
  return zlib.brotliCompressSync(body, { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 1, [zlib.constants.BROTLI_PARAM_SIZE_HINT]: body.length } });
}
