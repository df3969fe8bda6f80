import type { IncomingMessage, ServerResponse } from 'node:http';
import { HttpError } from '../http/errors.js';
import type { Html } from './html.js';

// Response headers every UI answer carries, the cookie and form helpers pages use.

/** No inline script, no plugins, no framing; styles and scripts only from our /static/. */
export const CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'";

export const SECURITY_HEADERS: Record<string, string> = {
  'content-security-policy': CSP,
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'same-origin',
  'cross-origin-opener-policy': 'same-origin',
};

export function sendHtml(res: ServerResponse, status: number, page: Html, headers: Record<string, string | string[]> = {}): void {
  const body = Buffer.from('<!doctype html>\n' + page.text, 'utf8');
  res.writeHead(status, {
    ...SECURITY_HEADERS,
    'content-type': 'text/html; charset=utf-8',
    'content-length': body.length,
    // pages show private data: never stored by the browser or a proxy
    'cache-control': 'no-store',
    ...headers,
  });
  res.end(body);
}

/** 303 See Other: after a POST the browser GETs the new location. */
export function redirect(res: ServerResponse, location: string, headers: Record<string, string | string[]> = {}): void {
  res.writeHead(303, { ...SECURITY_HEADERS, location, 'cache-control': 'no-store', 'content-length': 0, ...headers });
  res.end();
}

export function parseCookies(req: IncomingMessage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    const k = part.slice(0, eq).trim();
    if (!k || k in out) continue;
    try {
      out[k] = decodeURIComponent(part.slice(eq + 1).trim());
    } catch {
      /* a malformed cookie is no cookie */
    }
  }
  return out;
}

export interface CookieOptions {
  secure: boolean;
  maxAgeSecs?: number; // undefined: a browser-session cookie; 0: delete
}

export function cookie(name: string, value: string, o: CookieOptions): string {
  let s = `${name}=${encodeURIComponent(value)}; Path=/; HttpOnly; SameSite=Lax`;
  if (o.maxAgeSecs !== undefined) s += `; Max-Age=${o.maxAgeSecs}`;
  if (o.secure) s += '; Secure';
  return s;
}

// Forms are a few fields; 64 KiB is generous and bounds what an anonymous POST can make us buffer.
const MAX_FORM_BYTES = 64 * 1024;

export async function readForm(req: IncomingMessage): Promise<URLSearchParams> {
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== 'application/x-www-form-urlencoded') throw new HttpError('unsupported_media_type', 'forms must be sent as application/x-www-form-urlencoded');
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > MAX_FORM_BYTES) throw new HttpError('payload_too_large', `form larger than ${MAX_FORM_BYTES} bytes`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req) {
    size += (c as Buffer).length;
    if (size > MAX_FORM_BYTES) throw new HttpError('payload_too_large', `form larger than ${MAX_FORM_BYTES} bytes`);
    chunks.push(c as Buffer);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

/**
 * A redirect target from user input: only a path on this server. Browsers drop tabs and newlines
 * from URLs and read "\\" as "/", so "/\t/evil" and "/\\evil" would become "//evil" (another site):
 * control characters, spaces and backslashes are refused outright.
 */
export function safeNext(v: string | null | undefined): string {
  if (!v || !/^\/(?!\/)[^\x00-\x20\x7f\\]*$/.test(v)) return '/';
  return v;
}
