import { createHash } from 'node:crypto';
import { parseEnvelope, normalizeEventId, type EnvelopeItemHeaders } from '../protocol/envelope.js';
import { isObj, type Json } from '../protocol/event.js';
import { securityReportToEvent } from './security.js';
import { storableJson } from './storable.js';
import { parseJsonTolerant } from '../protocol/json.js';
import { parseMultipart } from './multipart.js';
import { decodePayload, PayloadError } from '../archive/decode.js';
import type { ArchiveRow } from '../archive/row.js';

// Stage 1 of the digest: an archived payload → its items. A payload-level fault (cannot decompress,
// envelope framing, store body not JSON) throws PayloadError and the payload goes to queue_error;
// item-level faults are returned per item so the rest of the envelope is still processed.

export interface Item {
  index: number;
  type: string;
  headers: EnvelopeItemHeaders;
  payload: Buffer;
  /** Parsed JSON for JSON item types (undefined for binary ones, e.g. attachments). */
  json?: unknown;
  /** Why the item cannot be used (then it is recorded in item_invalid). */
  invalid?: string;
}

export interface ParsedPayload {
  envelopeHeaders: Json;
  /** Event id of the envelope header / store body (32 hex), if any. */
  eventId: string | null;
  items: Item[];
}

const JSON_TYPES = new Set(['event', 'transaction', 'session', 'sessions', 'client_report', 'user_report', 'feedback', 'check_in']);

function parseJson(buf: Buffer): { ok: true; value: unknown } | { ok: false; error: string } {
  try {
    return { ok: true, value: parseJsonTolerant(storableJson(buf.toString('utf8'))) };
  } catch (e) {
    return { ok: false, error: `not valid JSON: ${(e as Error).message}` };
  }
}

/** Parses one archived payload. Throws PayloadError when nothing in it can be used. */
export function parsePayload(row: ArchiveRow, limit: number): ParsedPayload {
  const body = decodePayload(row, limit);
  switch (row.kind) {
    case 'envelope': {
      let env;
      try {
        env = parseEnvelope(body);
      } catch (e) {
        throw new PayloadError(`envelope: ${(e as Error).message}`);
      }
      const items: Item[] = env.items.map((it, index) => {
        const item: Item = { index, type: it.headers.type, headers: it.headers, payload: it.payload };
        if (JSON_TYPES.has(it.headers.type)) {
          const j = parseJson(it.payload);
          if (j.ok) item.json = j.value;
          else item.invalid = `${it.headers.type} item is ${j.error}`;
        }
        return item;
      });
      return { envelopeHeaders: env.headers, eventId: normalizeEventId(env.headers.event_id) ?? row.event_id?.replace(/-/g, '') ?? null, items };
    }
    case 'store': {
      // Ingest checked the body's shape only (protocol/json.ts topLevelFields): one that is not a
      // JSON object is recorded as an invalid event, as an envelope's unreadable event item is.
      const j = parseJson(body);
      if (!j.ok || !isObj(j.value)) {
        const invalid = j.ok ? 'store body is not a JSON object' : `store body is ${j.error}`;
        return { envelopeHeaders: {}, eventId: row.event_id?.replace(/-/g, '') ?? null, items: [{ index: 0, type: 'event', headers: { type: 'event' }, payload: body, invalid }] };
      }
      // A store body may be a transaction too (older SDKs).
      const type = j.value.type === 'transaction' ? 'transaction' : 'event';
      return {
        envelopeHeaders: {},
        eventId: normalizeEventId(j.value.event_id) ?? row.event_id?.replace(/-/g, '') ?? null,
        items: [{ index: 0, type, headers: { type }, payload: body, json: j.value }],
      };
    }
    case 'security': {
      const j = parseJson(body);
      if (!j.ok) throw new PayloadError(`security report is ${j.error}`);
      const ev = securityReportToEvent(j.value, row.meta);
      if (!ev) throw new PayloadError('security report of an unknown kind (expected csp-report, expect-ct-report, hpkp or expect-staple)');
      return { envelopeHeaders: {}, eventId: row.event_id?.replace(/-/g, '') ?? null, items: [{ index: 0, type: 'event', headers: { type: 'event' }, payload: body, json: ev }] };
    }
    case 'minidump':
      return parseMinidumpPayload(row, body);
  }
}

/**
 * Minidump endpoint payloads: the raw dump, or the multipart form (upload_file_minidump + other
 * files + an optional `sentry` JSON event). The event says what crashed as far as we know without
 * symbolication: platform native, level fatal, mechanism minidump (protocol §12).
 */
function parseMinidumpPayload(row: ArchiveRow, body: Buffer): ParsedPayload {
  const ct = String(row.meta.content_type ?? row.meta.contentType ?? '');
  let dump: { filename: string; data: Buffer } | null = null;
  const others: { name: string; filename: string; contentType: string; data: Buffer }[] = [];
  let base: Json = {};
  if (/^multipart\/form-data/i.test(ct)) {
    const parts = parseMultipart(body, ct);
    if (!parts) throw new PayloadError('minidump upload: malformed multipart body');
    for (const p of parts) {
      if (p.name === 'upload_file_minidump') dump = { filename: p.filename ?? 'minidump.dmp', data: p.data };
      else if (p.name === 'sentry' && !p.filename) {
        const j = parseJson(p.data);
        if (j.ok && isObj(j.value)) base = j.value;
      } else if (p.filename) others.push({ name: p.name, filename: p.filename, contentType: p.contentType ?? 'application/octet-stream', data: p.data });
    }
  } else dump = { filename: 'minidump.dmp', data: body };
  if (!dump) throw new PayloadError('minidump upload without an upload_file_minidump part');
  const magic = dump.data.subarray(0, 4).toString('latin1');
  if (magic !== 'MDMP' && magic !== 'PMDM') throw new PayloadError('minidump does not start with MDMP');
  const event: Json = {
    platform: 'native',
    level: 'fatal',
    ...base,
    exception: { values: [{ type: 'Minidump', value: 'Unsymbolicated minidump crash', mechanism: { type: 'minidump', handled: false, synthetic: true } }] },
  };
  const items: Item[] = [{ index: 0, type: 'event', headers: { type: 'event' }, payload: Buffer.alloc(0), json: event }];
  items.push({ index: 1, type: 'attachment', headers: { type: 'attachment', filename: dump.filename, attachment_type: 'event.minidump', content_type: 'application/x-dmp', length: dump.data.length }, payload: dump.data });
  others.forEach((o, i) => items.push({ index: 2 + i, type: 'attachment', headers: { type: 'attachment', filename: o.filename, content_type: o.contentType, length: o.data.length }, payload: o.data }));
  return { envelopeHeaders: {}, eventId: row.event_id?.replace(/-/g, '') ?? null, items };
}

/** Event id for an event item without one: stable for the same stored payload and item. */
export function fallbackEventId(row: { project_id: number; id: number }, index: number): string {
  return createHash('md5').update(`crash-cache:${row.project_id}:${row.id}:${index}`).digest('hex');
}
