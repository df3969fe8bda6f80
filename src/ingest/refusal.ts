import { HttpError, type ErrorCode } from '../http/errors.js';
import type { OutcomeKind } from '../outcomes/index.js';
import type { RefusalReason } from '../outcomes/reasons.js';

// An ingest refusal: the HTTP error to answer plus the outcome to record for it (every refused
// item ends in exactly one outcome: invalid, too_large, rate_limited or unauthorized; the handler
// records one per item it could read, in the item's category).
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
  constructor(
    code: ErrorCode,
    detail: string,
    /** Recorded with the outcome, from the closed set in outcomes/reasons.ts. */
    readonly reason: RefusalReason,
    headers: Record<string, string> = {},
  ) {
    super(code, detail, headers);
  }
}

/**
 * The outcome for a thrown error, or null when the payload has not ended: a 5xx that is not a
 * refusal (database unavailable, shutting down) is retried by the SDK, so it is counted when it ends.
 */
export function outcomeOf(e: unknown): { outcome: OutcomeKind; reason: RefusalReason } | null {
  if (!(e instanceof Refusal)) return null;
  if (e.code === 'unavailable') return { outcome: 'rate_limited', reason: e.reason };
  const outcome = OUTCOME_OF[e.code];
  return outcome ? { outcome, reason: e.reason } : null;
}
