// Envelope framing (shared/docs/sentry-protocol.md §4): a JSON header line, then items, each a JSON
// header line and a payload of `length` bytes — or, without `length`, up to the next "\n" or EOF.
// Pure and allocation-light: payloads are subarrays of the input buffer, not copies.

export interface EnvelopeItemHeaders {
  type: string;
  length?: number;
  [key: string]: unknown;
}

export interface EnvelopeItem {
  headers: EnvelopeItemHeaders;
  payload: Buffer;
}

export interface Envelope {
  headers: Record<string, unknown>;
  items: EnvelopeItem[];
}

export class EnvelopeError extends Error {}

const NL = 0x0a;

function parseHeaderLine(buf: Buffer, start: number, end: number, what: string): Record<string, unknown> {
  let text = buf.toString('utf8', start, end);
  if (text.endsWith('\r')) text = text.slice(0, -1);
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new EnvelopeError(`${what} is not valid JSON: ${(e as Error).message}`);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new EnvelopeError(`${what} is not a JSON object`);
  return v as Record<string, unknown>;
}

/** The envelope header only: what ingest needs (event_id, dsn) without walking the items. */
export function parseEnvelopeHeader(buf: Buffer): Record<string, unknown> {
  let end = buf.indexOf(NL);
  if (end < 0) end = buf.length;
  if (end === 0 && buf.length === 0) throw new EnvelopeError('empty envelope');
  return parseHeaderLine(buf, 0, end, 'envelope header');
}

/** Parses the whole envelope; throws EnvelopeError naming the first framing fault. */
export function parseEnvelope(buf: Buffer, maxItems = 10_000): Envelope {
  if (buf.length === 0) throw new EnvelopeError('empty envelope');
  let nl = buf.indexOf(NL);
  const headerEnd = nl < 0 ? buf.length : nl;
  const headers = parseHeaderLine(buf, 0, headerEnd, 'envelope header');
  const items: EnvelopeItem[] = [];
  let pos = headerEnd + 1;
  while (pos < buf.length) {
    // Blank lines between items are tolerated (some SDKs end every payload with "\n").
    if (buf[pos] === NL) {
      pos++;
      continue;
    }
    if (items.length >= maxItems) throw new EnvelopeError(`envelope has more than ${maxItems} items`);
    nl = buf.indexOf(NL, pos);
    const hEnd = nl < 0 ? buf.length : nl;
    const ih = parseHeaderLine(buf, pos, hEnd, `header of item ${items.length + 1}`);
    if (typeof ih.type !== 'string' || ih.type === '') throw new EnvelopeError(`item ${items.length + 1} has no "type" header`);
    pos = hEnd + 1;
    let payload: Buffer;
    if (ih.length !== undefined && ih.length !== null) {
      const len = ih.length;
      if (typeof len !== 'number' || !Number.isInteger(len) || len < 0) throw new EnvelopeError(`item ${items.length + 1} (${ih.type}) has an invalid length ${JSON.stringify(len)}`);
      if (pos + len > buf.length) throw new EnvelopeError(`item ${items.length + 1} (${ih.type}) declares length ${len} but only ${Math.max(0, buf.length - pos)} bytes follow`);
      payload = buf.subarray(pos, pos + len);
      pos += len;
      if (pos < buf.length && buf[pos] !== NL) throw new EnvelopeError(`item ${items.length + 1} (${ih.type}): the byte after its declared length ${len} is not a newline`);
      pos++;
    } else {
      if (pos > buf.length) {
        payload = buf.subarray(buf.length);
      } else {
        nl = buf.indexOf(NL, pos);
        const pEnd = nl < 0 ? buf.length : nl;
        payload = buf.subarray(pos, pEnd);
        pos = pEnd + 1;
      }
    }
    items.push({ headers: ih as EnvelopeItemHeaders, payload });
  }
  return { headers, items };
}

/** 32 lowercase hex from a hyphenated or plain UUID; null when it is not one. */
export function normalizeEventId(v: unknown): string | null {
  if (typeof v !== 'string') return null;
  const s = v.replace(/-/g, '').toLowerCase();
  return /^[0-9a-f]{32}$/.test(s) ? s : null;
}

/**
 * An envelope as bytes: header line, then each item's header (with its exact `length`) and payload.
 * Used when ingest keeps part of an envelope (items refused by a category's rate limit removed).
 */
export function serializeEnvelope(env: Envelope): Buffer {
  const parts: Buffer[] = [Buffer.from(JSON.stringify(env.headers) + '\n')];
  for (const it of env.items) {
    parts.push(Buffer.from(JSON.stringify({ ...it.headers, length: it.payload.length }) + '\n'), it.payload, Buffer.from('\n'));
  }
  return Buffer.concat(parts);
}
