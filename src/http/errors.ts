// The closed set of errors the HTTP layer answers with, and the one table mapping them to statuses.
// Every error body is JSON {"detail": "..."} naming the problem (and the setting, for limits).
// 5xx are logged as errors; 4xx are the client's business and logged at debug level only.

export const ERROR_STATUS = {
  invalid_request: 400, // malformed JSON, envelope, event id, unsupported protocol version
  unauthorized: 401, // no key, unknown key, bad API token
  forbidden: 403, // disabled project or key, key of another project, CSRF failure
  not_found: 404, // unknown project / route / object
  method_not_allowed: 405,
  conflict: 409, // a release file of that name exists
  payload_too_large: 413, // over a MAX_* setting while reading or decompressing
  uri_too_long: 414, // an API or UI URL over MAX_URL_CHARS
  unsupported_media_type: 415, // unknown Content-Encoding
  rate_limited: 429, // with Retry-After and X-Sentry-Rate-Limits
  internal: 500, // a bug: logged with its stack
  unavailable: 503, // database unreachable or overloaded: with Retry-After
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

export class HttpError extends Error {
  readonly status: number;
  constructor(
    readonly code: ErrorCode,
    readonly detail: string,
    readonly headers: Record<string, string> = {},
    readonly causes?: string[],
  ) {
    super(detail);
    this.status = ERROR_STATUS[code];
  }
}

/** Errors that mean "the database is not there right now" rather than "this request is wrong". */
export function isDatabaseUnavailable(e: unknown): boolean {
  const err = e as { code?: string; message?: string } | null;
  if (!err) return false;
  const code = err.code ?? '';
  // connection refused/reset, pool timeout, admin shutdown, too many connections, cannot connect now,
  // serialization/deadlock under overload, statement timeout
  // Class 53 (insufficient resources: 53100 disk full, 53200 out of memory, …) is the database's
  // state, not the request's fault: a 503 to the client, a wait (not a failed attempt) for the digest.
  if (/^53/.test(code)) return true;
  if (['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'ENOTFOUND', '57P01', '57P02', '57P03', '53300', '08006', '08001', '08003', '08004', '57014'].includes(code)) return true;
  // A Unix socket (the embedded PostgreSQL's) whose server is stopped: its socket file is gone.
  if (code === 'ENOENT' && (err as { syscall?: string }).syscall === 'connect') return true;
  const msg = err.message ?? '';
  return /timeout exceeded when trying to connect|Connection terminated|connect (ECONNREFUSED|ENOENT)|Client has encountered a connection error|not queryable/i.test(msg);
}
