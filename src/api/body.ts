import type { IncomingMessage } from 'node:http';
import { HttpError } from '../http/errors.js';

// Request bodies of the read API are small JSON objects (a status change); 1 MiB is generous.
const MAX_API_BODY = 1024 * 1024;

export async function readJsonBody(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req) {
    size += (c as Buffer).length;
    if (size > MAX_API_BODY) throw new HttpError('payload_too_large', `API request bodies are limited to ${MAX_API_BODY} bytes`);
    chunks.push(c as Buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8').trim();
  if (!text) return {};
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw new HttpError('invalid_request', 'request body is not valid JSON');
  }
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw new HttpError('invalid_request', 'request body must be a JSON object');
  if (holdsNul(v, 0)) throw new HttpError('invalid_request', 'request body holds a NUL character (\\u0000), which text fields cannot store');
  return v as Record<string, unknown>;
}

/** Whether any string or key holds NUL (PostgreSQL text cannot: the database would refuse it with a 500). */
function holdsNul(v: unknown, depth: number): boolean {
  if (typeof v === 'string') return v.includes('\0');
  if (!v || typeof v !== 'object' || depth > 64) return false;
  if (Array.isArray(v)) return v.some((x) => holdsNul(x, depth + 1));
  return Object.entries(v).some(([k, x]) => k.includes('\0') || holdsNul(x, depth + 1));
}
