import { HttpError, type ErrorCode } from '../http/errors.js';
import type { OutcomeKind } from '../outcomes/index.js';

// An ingest refusal: the HTTP error to answer plus the outcome to record for it (every refused
// payload ends in exactly one outcome: invalid, too_large, rate_limited or unauthorized).

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
  const outcome = OUTCOME_OF[e.code];
  if (!outcome) return null;
  return { outcome, reason: e instanceof Refusal ? e.reason : e.code };
}
