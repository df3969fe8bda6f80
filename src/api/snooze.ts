import { HttpError } from '../http/errors.js';
import type { Snooze } from './queries/issues.js';

// Sentry's "ignore for / until" conditions of an ignored issue, as the API's PUT and the web UI's
// buttons give them, read into the Snooze that setIssueStatus stores (migrations/0011_issue_snooze.sql).

/** A positive whole number from a snooze field, or null when absent. */
function count(d: Record<string, unknown>, k: string): number | null {
  const v = d[k];
  if (v === undefined || v === null) return null;
  const n = typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isInteger(n) || n <= 0 || n > 1e12) throw new HttpError('invalid_request', `${k} must be a positive whole number, got ${JSON.stringify(v)}`);
  return n;
}

/**
 * The conditions under which an ignored issue comes back (Sentry's "ignore for / until"): for
 * ignoreDuration (or snoozeDuration) minutes or until ignoreUntil; until ignoreCount more events
 * (within ignoreWindow minutes when given); until ignoreUserCount more users. Null when none given.
 */
export function snoozeOf(d: Record<string, unknown>): Snooze | null {
  const minutes = count(d, 'ignoreDuration') ?? count(d, 'snoozeDuration');
  let until = minutes !== null ? new Date(Date.now() + minutes * 60_000) : null;
  if (until === null && d.ignoreUntil !== undefined && d.ignoreUntil !== null) {
    until = typeof d.ignoreUntil === 'string' ? new Date(d.ignoreUntil) : null;
    if (!until || Number.isNaN(until.getTime())) throw new HttpError('invalid_request', `ignoreUntil must be an ISO 8601 time, got ${JSON.stringify(d.ignoreUntil)}`);
  }
  const events = count(d, 'ignoreCount');
  const window = events !== null ? count(d, 'ignoreWindow') : null;
  const users = count(d, 'ignoreUserCount');
  if (until === null && events === null && users === null) return null;
  return {
    until,
    count: events,
    windowMinutes: window,
    users,
    // Users are counted since the snooze; a user window (ignoreUserWindow) is not applied.
    details: { ignoreCount: events, ignoreUntil: until?.toISOString() ?? null, ignoreUserCount: users, ignoreUserWindow: null, ignoreWindow: window },
  };
}
