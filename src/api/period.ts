import { HttpError } from '../http/errors.js';

// statsPeriod values as Sentry's API takes them: a number and a unit (s, m, h, d, w), e.g. 24h or
// 14d. '' means "all time". Returned in milliseconds; null for all time.

const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

export function parsePeriod(value: string | null | undefined, name = 'statsPeriod'): number | null {
  if (value === null || value === undefined || value === '') return null;
  const m = /^(\d{1,6})([smhdw])$/.exec(value.trim());
  if (!m) throw new HttpError('invalid_request', `${name} must be a number and a unit (s, m, h, d, w), e.g. 24h or 14d; got ${JSON.stringify(value)}`);
  const ms = Number(m[1]) * UNIT_MS[m[2]!]!;
  if (ms <= 0) throw new HttpError('invalid_request', `${name} must be positive`);
  return ms;
}

/** The buckets of an issue's `stats` series: Sentry sends 24 hourly points for 24h, 14 daily for 14d. */
export function statsBuckets(key: '24h' | '14d'): { bucketSecs: number; count: number } {
  return key === '24h' ? { bucketSecs: 3600, count: 24 } : { bucketSecs: 86400, count: 14 };
}
