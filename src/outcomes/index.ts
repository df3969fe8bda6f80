import type { Logger } from '../log.js';
import type pg from 'pg';
import { addOutcomes, type OutcomeCount } from './queries.js';

// Outcomes: what became of every item that reached us. Accepted items are counted by the digest;
// everything refused (invalid, too large, rate limited, unauthorized, filtered) is recorded here with
// a reason, and the SDKs' own client reports are read alongside (listOutcomes).
//
// `record` only adds to an in-memory map; a timer writes the map every FLUSH_MS with one upsert
// (queries.ts), so a flood of refused requests costs one statement per second, not one write per
// request. The map is bounded (MAX_KEYS): past it, new keys are counted under reason
// 'outcome_buffer_full' (one key per outcome and category), so totals stay right even when detail
// is lost. A failed write keeps the counts for the next try, within the same bound.

export type OutcomeKind = 'accepted' | 'filtered' | 'rate_limited' | 'invalid' | 'too_large' | 'unauthorized' | 'client_discard';

export interface Outcomes {
  /** Counts `quantity` items of `category` for the project (null when the project is unknown). */
  record(projectId: number | null, outcome: OutcomeKind, reason: string, category: string, quantity?: number): void;
  /** Writes buffered counts. */
  flush(): Promise<void>;
  close(): Promise<void>;
}

export { listOutcomes, outcomeTotals, type OutcomeCount, type OutcomeFilter } from './queries.js';

export const FLUSH_MS = 1000;
/** Distinct (project, hour, outcome, reason, category) keys held between flushes. */
export const MAX_KEYS = 10_000;
const HOUR_MS = 3_600_000;

/** Reasons and categories are labels we write ourselves; bounded so a bug cannot bloat the table. */
function label(s: string): string {
  return s.length <= 64 ? s : s.slice(0, 64);
}

export interface OutcomesOptions {
  /** Flush period in ms; 0 = only on flush()/close() (tests). */
  flushMs?: number;
  now?: () => number;
  maxKeys?: number;
}

export function createOutcomes(pool: pg.Pool, log: Logger, opts: OutcomesOptions = {}): Outcomes & { pending(): number } {
  const now = opts.now ?? Date.now;
  const maxKeys = opts.maxKeys ?? MAX_KEYS;
  let buffer = new Map<string, OutcomeCount>();
  let lastError = 0;

  const add = (c: OutcomeCount) => {
    let key = `${c.projectId}|${c.hour.getTime()}|${c.outcome}|${c.reason}|${c.category}`;
    let row = buffer.get(key);
    if (!row && buffer.size >= maxKeys) {
      c = { ...c, projectId: null, reason: 'outcome_buffer_full' };
      key = `${c.projectId}|${c.hour.getTime()}|${c.outcome}|${c.reason}|${c.category}`;
      row = buffer.get(key);
    }
    if (row) row.quantity += c.quantity;
    else buffer.set(key, { ...c });
  };

  let flushing: Promise<void> | null = null;
  const flushOnce = async () => {
    if (!buffer.size) return;
    const batch = buffer;
    buffer = new Map();
    try {
      await addOutcomes(pool, [...batch.values()]);
    } catch (e) {
      for (const c of batch.values()) add(c);
      if (Date.now() - lastError > 60_000) {
        lastError = Date.now();
        log.warn('writing outcomes failed; keeping them for the next try', { error: (e as Error).message, pending: buffer.size });
      }
      throw e;
    }
  };
  // One write at a time: a flush requested during another waits for it and then writes what is left.
  const flush = async (): Promise<void> => {
    while (flushing) await flushing.catch(() => {});
    flushing = flushOnce().finally(() => (flushing = null));
    return flushing;
  };

  const flushMs = opts.flushMs ?? FLUSH_MS;
  const timer = flushMs > 0 ? setInterval(() => void flush().catch(() => {}), flushMs) : null;
  timer?.unref();

  return {
    record(projectId, outcome, reason, category, quantity = 1) {
      if (!(quantity > 0)) return;
      const t = now();
      add({ projectId, hour: new Date(t - (t % HOUR_MS)), outcome, reason: label(reason), category: label(category), quantity: Math.round(quantity) });
    },
    flush,
    async close() {
      if (timer) clearInterval(timer);
      await flush();
    },
    pending: () => buffer.size,
  };
}
