import type { StoredEncoding } from '../protocol/compression.js';
import type { Json } from '../protocol/event.js';

// The archive's rows (migrations/0001, 0010, 0015), defined once: what ingest hands to the insert
// (camelCase, before the row has an id) and what readers get back (the table's column names).

export type ArchiveKind = 'envelope' | 'store' | 'security' | 'minidump';

/** A payload to archive (src/archive/insert.ts). */
export interface NewArchiveRow {
  projectId: number;
  /** The dedup key: SHA-256 of the content encoding as sent, a NUL, and the body as received. */
  sha256: Buffer;
  kind: ArchiveKind;
  encoding: StoredEncoding;
  eventId: string | null;
  rawSize: number | null;
  meta: Record<string, unknown>;
  payload: Buffer;
  /** The archive_dict row `payload` was compressed against ('deflate-dict'), committed already. */
  dictId?: number | null;
}

/** An archived payload as read back (src/archive/read.ts, or the digest's claim). */
export interface ArchiveRow {
  project_id: number;
  id: number;
  kind: ArchiveKind;
  encoding: StoredEncoding;
  event_id: string | null;
  received_at: Date;
  meta: Json;
  payload: Buffer;
  /** archive_dict row of a 'deflate-dict' payload (migrations/0010); null otherwise. */
  dict_id?: number | null;
  /** Its bytes, set by the reader (attachDictionaries in dictionary-load.ts, or readArchiveRow's join) before decoding. */
  dict?: Uint8Array | null;
}

/** The columns of `archive a` a reader selects to decode a payload (the claim adds raw_size). */
export const ARCHIVE_READ_COLUMNS = 'a.project_id, a.id, a.kind, a.encoding, a.event_id, a.received_at, a.meta, a.payload, a.dict_id';
