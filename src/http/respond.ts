import type { IncomingMessage, ServerResponse } from 'node:http';
import { HttpError, isDatabaseUnavailable } from './errors.js';
import type { Logger } from '../log.js';

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

/** Turns any thrown value into the JSON error answer; unknown errors become 500 and are logged. */
export function sendError(req: IncomingMessage, res: ServerResponse, e: unknown, log: Logger): void {
  const err = classifyError(req, e, log);
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body: Record<string, unknown> = { detail: err.detail };
  if (err.causes?.length) body.causes = err.causes;
  sendJson(res, err.status, body, errorHeaders(req, err));
}

/** The HttpError a thrown value answers as, logged: 5xx as errors (a bug's stack included), 4xx at debug level. */
export function classifyError(req: IncomingMessage, e: unknown, log: Logger): HttpError {
  let err: HttpError;
  if (e instanceof HttpError) err = e;
  else if (isDatabaseUnavailable(e)) err = new HttpError('unavailable', 'the database is unavailable; retry later', { 'retry-after': '10' });
  else {
    log.error('unhandled error', { method: req.method, url: req.url, error: (e as Error)?.stack ?? String(e) });
    err = new HttpError('internal', 'internal server error');
  }
  if (err.status >= 500 && err.code !== 'internal') log.warn(err.detail, { method: req.method, url: req.url });
  else if (err.status < 500) log.debug(err.detail, { method: req.method, url: req.url, status: err.status });
  return err;
}

/** The error's own headers, X-Sentry-Error, and `connection: close` when the request body is unread. */
export function errorHeaders(req: IncomingMessage, err: HttpError): Record<string, string> {
  // The body may be unread (we refuse early); close the connection rather than drain an attacker's upload.
  // Header values must be visible ASCII: a detail quoting client input (a query, a cursor) may hold
  // anything, and an invalid header character would throw here instead of answering.
  const headers: Record<string, string> = { ...err.headers, 'x-sentry-error': err.detail.slice(0, 200).replace(/[^\x20-\x7e]/g, '?') };
  if (!req.complete) headers.connection = 'close';
  return headers;
}
