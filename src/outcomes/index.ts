import type { Logger } from '../log.js';
import type pg from 'pg';

// Outcomes: what became of every item that reached us. Accepted items are counted by the digest;
// everything refused (invalid, too large, rate limited, unauthorized, filtered) is recorded here with
// a reason, and so are the SDKs' own client reports. Placeholder: the rate-limit work fills it in.

export type OutcomeKind = 'accepted' | 'filtered' | 'rate_limited' | 'invalid' | 'too_large' | 'unauthorized' | 'client_discard';

export interface Outcomes {
  /** Counts `quantity` items of `category` for the project (null when the project is unknown). */
  record(projectId: number | null, outcome: OutcomeKind, reason: string, category: string, quantity?: number): void;
  /** Writes buffered counts. */
  flush(): Promise<void>;
  close(): Promise<void>;
}

export function createOutcomes(_pool: pg.Pool, _log: Logger): Outcomes {
  return { record() {}, flush: async () => {}, close: async () => {} };
}
