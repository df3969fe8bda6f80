import { HttpError, type ErrorCode } from '../http/errors.js';
import type { OutcomeKind } from '../outcomes/index.js';

// An ingest refusal: the HTTP error to answer plus the outcome to record for it (every refused
// payload ends in exactly one outcome: invalid, too_large, rate_limited or unauthorized).
// Load shedding is a 503 refusal recorded as rate_limited (the client was told to back off, with
// Retry-After) under its own reason: disk_full (DISK_MIN_FREE_BYTES, or SQLSTATE 53100 from an
// external PostgreSQL), database_out_of_resources (other class 53), database_restarting,
// INGEST_MAX_PENDING_COMMITS, INGEST_MAX_PENDING_BYTES. A 503 for a database that does not answer
// at all is not recorded: the outcome could not be written either.

const OUTCOME_OF: Partial<Record<ErrorCode, OutcomeKind>> = {
  invalid_request: 'invalid',
  unsupported_media_type: 'invalid',
  payload_too_large: 'too_large',
  rate_limited: 'rate_limited',
  unauthorized: 'unauthorized',
  forbidden: 'unauthorized',
  not_found: 'unauthorized',
};

export class Refusal extends HttpError {
  /** The data category of what was refused, when only the refusing code knows it. */
  category?: string;

  constructor(
    code: ErrorCode,
    detail: string,
    /** Machine-readable reason recorded with the outcome, e.g. `invalid_envelope`, `MAX_EVENT_BYTES`. */
    readonly reason: string,
    headers: Record<string, string> = {},
  ) {
    super(code, detail, headers);
  }
}

/** The outcome for a thrown error, or null when it is not the client's fault (5xx: the SDK retries). */
export function outcomeOf(e: unknown): { outcome: OutcomeKind; reason: string } | null {
  if (!(e instanceof HttpError)) return null;
  if (e instanceof Refusal && e.code === 'unavailable') return { outcome: 'rate_limited', reason: e.reason };
  const outcome = OUTCOME_OF[e.code];
  if (!outcome) return null;
  return { outcome, reason: e instanceof Refusal ? e.reason : e.code };
}
