import { HttpError, type ErrorCode } from '../http/errors.js';
import type { OutcomeKind } from '../outcomes/index.js';
import type { RefusalReason } from '../outcomes/reasons.js';

// An ingest refusal: the HTTP error to answer plus the outcome to record for it (every refused
// item ends in exactly one outcome: invalid, too_large, rate_limited or unauthorized; the handler
// records one per item it could read, in the item's category).

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
 * The outcome for a thrown error, or null when the payload has not ended: a 5xx (database
 * unavailable, overloaded, shutting down) is retried by the SDK, so it is counted when it ends.
 */
export function outcomeOf(e: unknown): { outcome: OutcomeKind; reason: RefusalReason } | null {
  if (!(e instanceof Refusal)) return null;
  const outcome = OUTCOME_OF[e.code];
  return outcome ? { outcome, reason: e.reason } : null;
}
