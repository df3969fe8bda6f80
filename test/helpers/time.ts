// Test data is dated around a point of the current run, never on a calendar day: the digest treats old
// data differently (a session update more than 5 days after the session started is refused; an event
// timestamp more than 30 days old falls back to its receive time), so fixed dates break tests weeks later.

/** The start of the current UTC hour, one day ago (a whole hour, so hourly buckets are predictable). */
export const BASE_MS = Math.floor(Date.now() / 3_600_000) * 3_600_000 - 86_400_000;

/** ISO time `secs` seconds after BASE_MS. */
export const at = (secs = 0): string => new Date(BASE_MS + secs * 1000).toISOString();
