import type { IncomingMessage, ServerResponse } from 'node:http';

// CORS for the ingest endpoints (protocol notes §6, after Relay's endpoints/common.rs): browser SDKs
// post cross-origin, usually without a preflight (query auth, text/plain), but a page that sets other
// headers preflights first. The key in the request, not the origin, is what authenticates.

const ALLOW_HEADERS = 'x-sentry-auth, x-requested-with, x-forwarded-for, origin, referer, accept, content-type, authentication, authorization, content-encoding, transfer-encoding';
const EXPOSE_HEADERS = 'x-sentry-error, x-sentry-rate-limits, retry-after';

/** Ingest paths: /api/{project}/… and /api/store/ — everything under /api/ but the read API's /api/0/. */
export function isIngestPath(pathname: string): boolean {
  return pathname.startsWith('/api/') && !/^\/api\/0(\/|$)/.test(pathname);
}

/**
 * The CORS headers every ingest answer carries, to pass to `writeHead` with the others: a response
 * whose headers all go to `writeHead` skips `setHeader`'s per-header validation and merge (five
 * `setHeader` calls per accepted request before).
 */
export function corsHeaders(req: IncomingMessage, headers: Record<string, string>): Record<string, string> {
  const origin = req.headers.origin;
  headers['access-control-allow-origin'] = origin && origin !== 'null' ? origin : '*';
  headers['access-control-expose-headers'] = EXPOSE_HEADERS;
  headers.vary = 'Origin';
  return headers;
}

/** Sets the CORS headers every ingest answer carries (errors included). */
export function setCorsHeaders(req: IncomingMessage, res: ServerResponse): void {
  const origin = req.headers.origin;
  res.setHeader('access-control-allow-origin', origin && origin !== 'null' ? origin : '*');
  res.setHeader('access-control-expose-headers', EXPOSE_HEADERS);
  res.setHeader('vary', 'Origin');
}

/** Answers a preflight: allows POST with the headers SDKs and tunnels use, cached for an hour. */
export function answerPreflight(req: IncomingMessage, res: ServerResponse): void {
  setCorsHeaders(req, res);
  const requested = req.headers['access-control-request-headers'];
  res.writeHead(200, {
    'access-control-allow-methods': 'POST, OPTIONS',
    // Echo what the browser asks for (e.g. sentry-trace, baggage set by an app), else Relay's list.
    'access-control-allow-headers': typeof requested === 'string' && requested ? requested : ALLOW_HEADERS,
    'access-control-max-age': '3600',
    'content-length': '0',
  });
  res.end();
}
