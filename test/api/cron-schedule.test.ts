import { describe, expect, it } from 'vitest';
import { nextCheckIn, nextCronTime } from '../../src/api/cron-schedule.js';

// When a cron monitor expects its next check-in: crontabs in the monitor's time zone across DST
// changes (cron-parser), macros, unreadable schedules, intervals.

const at = (iso: string) => Date.parse(iso);
const next = (expr: string, after: string, tz?: string) => {
  const t = nextCronTime(expr, at(after), tz);
  return t === null ? null : new Date(t).toISOString();
};

describe('nextCronTime', () => {
  it('finds the next matching minute in UTC, with names, 7 for Sunday, macros and day-of-month OR day-of-week', () => {
    expect(next('*/15 * * * *', '2026-06-01T10:07:00Z')).toBe('2026-06-01T10:15:00.000Z');
    expect(next('*/15 * * * *', '2026-06-01T10:15:00Z')).toBe('2026-06-01T10:30:00.000Z');
    expect(next('0 0 * * 7', '2026-01-01T00:00:00Z')).toBe('2026-01-04T00:00:00.000Z');
    expect(next('0 0 * * SUN', '2026-01-01T00:00:00Z')).toBe('2026-01-04T00:00:00.000Z');
    expect(next('@midnight', '2026-01-01T10:00:00Z')).toBe('2026-01-02T00:00:00.000Z');
    expect(next('@hourly', '2026-01-01T10:00:00Z')).toBe('2026-01-01T11:00:00.000Z');
    // Both day fields restricted: either matches (Monday 5 January comes before the 15th).
    expect(next('0 0 1,15 * 1', '2026-01-01T00:00:00Z')).toBe('2026-01-05T00:00:00.000Z');
  });

  it('reads the schedule in a non-UTC time zone', () => {
    // Saturday 5 December → Monday 09:00 in New York (EST, UTC−5).
    expect(next('0 9 * * mon-fri', '2026-12-05T10:00:00Z', 'America/New_York')).toBe('2026-12-07T14:00:00.000Z');
    // Midnight on a January day in Kolkata (UTC+5:30) is 18:30 UTC the day before.
    expect(next('0 0 * jan *', '2026-03-01T00:00:00Z', 'Asia/Kolkata')).toBe('2026-12-31T18:30:00.000Z');
    expect(next('0 3 * * *', '2026-07-01T12:00:00Z', 'Europe/Vienna')).toBe('2026-07-02T01:00:00.000Z');
  });

  it('crosses a DST spring-forward: a skipped wall time runs after the gap, the rest keep their wall time', () => {
    // Vienna, 29 March 2026: 02:00 CET becomes 03:00 CEST, so 02:30 does not exist that day.
    expect(next('30 2 * * *', '2026-03-28T12:00:00Z', 'Europe/Vienna')).toBe('2026-03-29T01:30:00.000Z');
    expect(next('30 2 * * *', '2026-03-29T01:30:00Z', 'Europe/Vienna')).toBe('2026-03-30T00:30:00.000Z');
    expect(next('0 3 * * *', '2026-03-28T12:00:00Z', 'Europe/Vienna')).toBe('2026-03-29T01:00:00.000Z');
    expect(next('*/15 * * * *', '2026-03-29T00:50:00Z', 'Europe/Vienna')).toBe('2026-03-29T01:00:00.000Z');
  });

  it('crosses a DST fall-back: a daily job runs once, an hourly one also in the repeated hour', () => {
    // Vienna, 25 October 2026: 03:00 CEST becomes 02:00 CET, so 02:00–02:59 happens twice.
    expect(next('30 2 * * *', '2026-10-24T12:00:00Z', 'Europe/Vienna')).toBe('2026-10-25T00:30:00.000Z');
    expect(next('30 2 * * *', '2026-10-25T00:31:00Z', 'Europe/Vienna')).toBe('2026-10-26T01:30:00.000Z');
    // 02:10 CEST → 02:00 CET (01:00 UTC), not 03:00 CET (the hand-written parser's answer, an hour late).
    expect(next('0 * * * *', '2026-10-25T00:10:00Z', 'Europe/Vienna')).toBe('2026-10-25T01:00:00.000Z');
    expect(next('0 * * * *', '2026-10-25T01:00:00Z', 'Europe/Vienna')).toBe('2026-10-25T02:00:00.000Z');
    // New York, 1 November 2026: 01:30 EDT, then not again at 01:30 EST.
    expect(next('30 1 * * *', '2026-11-01T00:00:00Z', 'America/New_York')).toBe('2026-11-01T05:30:00.000Z');
    expect(next('30 1 * * *', '2026-11-01T05:31:00Z', 'America/New_York')).toBe('2026-11-02T06:30:00.000Z');
  });

  it('gives null for what it cannot read or never matches', () => {
    for (const expr of ['', 'every day', '* * * *', '0 0 * * * *', '61 * * * *', '0 0 32 * *', '0 0 * * 8', '0 0 30 2 *']) {
      expect(next(expr, '2026-01-01T00:00:00Z'), JSON.stringify(expr)).toBeNull();
    }
    expect(next('0 0 * * *', '2026-01-01T00:00:00Z', 'Nowhere/Foo')).toBeNull();
  });
});

describe('nextCheckIn', () => {
  it('counts from the minute of the last check-in, crontab or interval', () => {
    const last = at('2026-06-01T10:14:59.500Z');
    expect(new Date(nextCheckIn({ type: 'crontab', value: '*/15 * * * *' }, last)!).toISOString()).toBe('2026-06-01T10:15:00.000Z');
    expect(new Date(nextCheckIn({ type: 'crontab', value: '0 3 * * *' }, last, 'Europe/Vienna')!).toISOString()).toBe('2026-06-02T01:00:00.000Z');
    expect(nextCheckIn({ type: 'interval', value: 2, unit: 'hours' }, last)).toBe(at('2026-06-01T12:14:00Z'));
    expect(nextCheckIn({ type: 'interval', value: 1, unit: 'month' }, last)).toBe(at('2026-07-01T10:14:00Z'));
    expect(nextCheckIn({ type: 'interval', value: 1, unit: 'fortnight' }, last)).toBeNull();
  });
});
