import { parseEnvelope } from '../protocol/envelope.js';
import { EventScrubber } from './event.js';
import { compileScrub, DEFAULT_SCRUB } from './settings.js';

// A payload scrubbed with the default rules, for ingest's archive dictionaries (src/ingest/
// dictionaries.ts): a dictionary is made of a payload's bytes and kept for as long as the archive rows
// compressed against it, so it must not keep what the digest scrubs out of those rows. Ingest makes
// one rarely (the first payload of an SDK, endpoint and category, and a replacement when many miss), so
// parsing that one payload here costs the fast path nothing per request. The project's own settings
// are not known here; the default rules apply (depth 100). A body that is neither a JSON object nor an
// envelope (a minidump upload) is returned as it is: attachments are not scrubbed (docs/SECURITY.md).

const EVENT_TYPES = new Set(['event', 'transaction', 'feedback']);
const rules = compileScrub(DEFAULT_SCRUB, 100);

function scrubJson(buf: Buffer): Buffer | null {
  let v: unknown;
  try {
    v = JSON.parse(buf.toString('utf8'));
  } catch {
    return null;
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return null;
  return new EventScrubber(rules).scrub(v as Record<string, unknown>) ? Buffer.from(JSON.stringify(v)) : buf;
}

/** `raw` with its event items scrubbed (an item that cannot be read loses its bytes). */
export function scrubbedSample(raw: Buffer): Buffer {
  // A store body (JSON) first: an envelope is never one JSON value, and a JSON body must not be read
  // as an envelope whose header line is the whole event.
  const j = scrubJson(raw);
  if (j) return j;
  let env;
  try {
    env = parseEnvelope(raw);
  } catch {
    return raw;
  }
  const parts: Buffer[] = [Buffer.from(JSON.stringify(env.headers))];
  for (const it of env.items) {
    const payload = EVENT_TYPES.has(it.headers.type) ? scrubJson(it.payload) ?? Buffer.alloc(0) : it.payload;
    parts.push(Buffer.from(`\n${JSON.stringify({ ...it.headers, length: payload.length })}\n`), payload);
  }
  parts.push(Buffer.from('\n'));
  return Buffer.concat(parts);
}
