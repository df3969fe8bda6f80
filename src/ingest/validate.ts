import { randomUUID } from 'node:crypto';
import { EnvelopeError, normalizeEventId, parseEnvelope, type Envelope } from '../protocol/envelope.js';
import type { Config } from '../config/index.js';
import { categoryOf, DEFAULT_CATEGORY } from '../protocol/categories.js';
import type { SizeLimitSetting } from '../outcomes/reasons.js';
import { JsonShapeError, topLevelFields } from '../protocol/json.js';
import { Refusal } from './refusal.js';

// What ingest checks before it stores a payload — only what must be refused now (framing, event id,
// size limits); everything inside an item is for the digest to judge. Also names the data category
// (protocol/categories.ts) the payload is filed under.

export type IngestKind = 'envelope' | 'store' | 'security' | 'minidump';

export interface Validated {
  /** 32 lowercase hex; null for an envelope without one. */
  eventId: string | null;
  category: string;
  envelope?: Envelope;
}

const PRIMARY = ['event', 'transaction', 'feedback', 'security', 'check_in'];
const EVENT_ITEMS = new Set(['event', 'transaction', 'feedback', 'security', 'user_report']);

/** The category an envelope is filed under (its archive dictionary's key): its main item's. */
export function envelopeCategory(types: string[]): string {
  const main = types.find((t) => PRIMARY.includes(t)) ?? types[0];
  return main ? categoryOf(main) : DEFAULT_CATEGORY;
}

function eventIdOf(v: unknown, where: string): string | null {
  if (v === undefined || v === null) return null;
  const id = normalizeEventId(v);
  if (!id) throw new Refusal('invalid_request', `${where} event_id ${JSON.stringify(v).slice(0, 80)} is not a UUID`, 'invalid_event_id');
  return id;
}

const tooLarge = (what: string, setting: SizeLimitSetting, limit: number) =>
  new Refusal('payload_too_large', `${what} exceeds ${setting} (${limit} bytes)`, setting);

/** Envelope framing; a fault is a 400 naming it. */
export function readEnvelope(raw: Buffer): Envelope {
  try {
    return parseEnvelope(raw);
  } catch (e) {
    if (e instanceof EnvelopeError) throw new Refusal('invalid_request', `invalid envelope: ${e.message}`, 'invalid_envelope');
    throw e;
  }
}

export function validateEnvelope(env: Envelope, config: Readonly<Config>): Validated {
  const category = envelopeCategory(env.items.map((i) => i.headers.type));
  checkItemLimits(env, config);
  let eventId = eventIdOf(env.headers.event_id, 'envelope header');
  if (!eventId) {
    // No id in the header: take the event's own, when it is readable (a broken one is the digest's to report).
    const ev = env.items.find((it) => it.headers.type === 'event' || it.headers.type === 'transaction');
    if (ev) {
      try {
        eventId = normalizeEventId((JSON.parse(ev.payload.toString('utf8')) as { event_id?: unknown })?.event_id);
      } catch {
        /* left to the digest */
      }
    }
  }
  return { eventId, category, envelope: env };
}

function checkItemLimits(env: Envelope, config: Readonly<Config>): void {
  let sessions = 0;
  for (const [i, item] of env.items.entries()) {
    const t = item.headers.type;
    if (EVENT_ITEMS.has(t) && item.payload.length > config.maxEventBytes) throw tooLarge(`item ${i + 1} (${t})`, 'MAX_EVENT_BYTES', config.maxEventBytes);
    if (t === 'attachment' && item.payload.length > config.maxAttachmentBytes) throw tooLarge(`item ${i + 1} (attachment)`, 'MAX_ATTACHMENT_BYTES', config.maxAttachmentBytes);
    if (t === 'session' && ++sessions > config.maxSessionItems) throw new Refusal('payload_too_large', `the envelope has more than MAX_SESSION_ITEMS (${config.maxSessionItems}) session items`, 'MAX_SESSION_ITEMS');
  }
}

/** The store body's fields ingest reads; the rest of the body is the digest's to parse (protocol/json.ts). */
const STORE_FIELDS = ['event_id', 'type'] as const;

export function validateStore(raw: Buffer): Validated {
  let ev: { event_id?: unknown; type?: unknown };
  try {
    ev = topLevelFields(raw, STORE_FIELDS);
  } catch (e) {
    if (!(e instanceof JsonShapeError)) throw e;
    throw new Refusal('invalid_request', e.notObject ? 'store body is not a JSON object' : `store body is not valid JSON: ${e.message}`, 'invalid_json');
  }
  return {
    eventId: eventIdOf(ev.event_id, 'store body') ?? randomUUID().replace(/-/g, ''),
    category: ev.type === 'transaction' ? 'transaction' : 'error',
  };
}

export function validateSecurity(raw: Buffer): Validated {
  let body: unknown;
  try {
    body = JSON.parse(raw.toString('utf8'));
  } catch (e) {
    throw new Refusal('invalid_request', `security report is not valid JSON: ${(e as Error).message}`, 'invalid_json');
  }
  // {"csp-report": {...}}, {"expect-ct-report": {...}}, HPKP objects, or Reporting API arrays.
  if (typeof body !== 'object' || body === null) throw new Refusal('invalid_request', 'security report is not a JSON object or array', 'invalid_json');
  return { eventId: randomUUID().replace(/-/g, ''), category: 'security' };
}

export function validateMinidump(raw: Buffer, contentType: string): Validated {
  // Multipart uploads (Crashpad, Breakpad, Electron) are stored whole; the digest takes them apart.
  if (!/^multipart\/form-data/i.test(contentType)) {
    const magic = raw.subarray(0, 4).toString('latin1');
    if (magic !== 'MDMP' && magic !== 'PMDM') throw new Refusal('invalid_request', 'minidump body does not start with MDMP (nor is it multipart/form-data)', 'invalid_minidump');
  }
  return { eventId: randomUUID().replace(/-/g, ''), category: 'error' };
}
