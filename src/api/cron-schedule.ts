import { CronExpressionParser } from 'cron-parser';

// When a cron monitor expects its next check-in (protocol notes §14): the next tick of its schedule
// after the last check-in, as Sentry computes nextCheckIn — a crontab's next matching minute in the
// monitor's timezone, or the last check-in plus the interval. Unreadable schedules give null.
//
// Crontabs are cron-parser's (time zones and DST through luxon; maintained), not a parser of our own:
// the hand-written one before it skipped the repeated hour of a DST fall-back ('0 * * * *' in Vienna at
// 02:10 CEST on 25 Oct 2026 gave 03:00 CET, an hour late). It is slower: µs per call, Node 26, this
// 2-core box shared and loaded (load ~10), bench/micro/cron-next.ts, three alternating runs —
// '0 3 * * *' in Europe/Vienna: hand-written 13–15, cron-parser 103–323; '*/5 * * * *' in UTC: 12–19
// vs 29–52; '0 9 * * mon-fri' in America/New_York: 13–16 vs 108–117. (croner, the other candidate,
// was not faster here — 145–200 — and moves a wall time that DST skips to the end of the gap, 02:30
// to 03:00, where cron-parser and the code before keep the offset: 03:30.) Every alert sender
// serializes every monitor environment every 30 s (src/alerts/monitors.ts), so the answer is
// remembered per (schedule, zone, last check-in): the library runs once per check-in, and a repeat
// costs a Map lookup (0.1 µs).

const UNIT_MS: Record<string, number> = { minute: 60_000, hour: 3_600_000, day: 86_400_000, week: 604_800_000 };
/** Sentry's (croniter's) macros; cron-parser lacks @midnight and has some croniter does not (@weekdays). */
const MACROS: Record<string, string> = {
  '@yearly': '0 0 1 1 *', '@annually': '0 0 1 1 *', '@monthly': '0 0 1 * *', '@weekly': '0 0 * * 0',
  '@daily': '0 0 * * *', '@midnight': '0 0 * * *', '@hourly': '0 * * * *',
};
/** Remembered answers; cleared when full (the working set is one entry per monitor environment). */
const MEMO_MAX = 10_000;
const memo = new Map<string, number | null>();

/** The first minute strictly after `after` (ms) that matches the 5-field crontab (or macro) in `timeZone`; null if none or unreadable. */
export function nextCronTime(expr: string, after: number, timeZone = 'UTC'): number | null {
  const key = `${expr}\u0000${timeZone}\u0000${after}`;
  const hit = memo.get(key);
  if (hit !== undefined) return hit;
  const text = MACROS[expr.trim().toLowerCase()] ?? expr.trim();
  let next: number | null = null;
  // Five fields only: cron-parser would read six as seconds first, which no SDK sends.
  if (text.split(/\s+/).length === 5) {
    try {
      next = CronExpressionParser.parse(text, { currentDate: new Date(after), tz: timeZone }).next().getTime();
    } catch {
      next = null; // a bad field, an unknown zone, or no match at all (30 February)
    }
  }
  if (memo.size >= MEMO_MAX) memo.clear();
  memo.set(key, next);
  return next;
}

export interface Schedule {
  type: 'crontab' | 'interval';
  value: string | number;
  unit?: string;
}

/** Reads monitor_config.schedule as SDKs send it ({type, value[, unit]}); null when unusable. */
export function readSchedule(config: unknown): Schedule | null {
  const s = (config as { schedule?: unknown } | null)?.schedule;
  if (!s || typeof s !== 'object') return null;
  const { type, value, unit } = s as Record<string, unknown>;
  if (type === 'crontab' && typeof value === 'string') return { type, value };
  if (type === 'interval' && typeof value === 'number' && value > 0 && typeof unit === 'string') return { type, value, unit };
  return null;
}

/** The next expected check-in after one at `last` (ms), or null. Sentry counts from the minute of the last one. */
export function nextCheckIn(schedule: Schedule, last: number, timeZone?: string | null): number | null {
  const from = Math.floor(last / 60_000) * 60_000;
  if (schedule.type === 'crontab') {
    return nextCronTime(String(schedule.value), from, timeZone || 'UTC');
  }
  const n = Number(schedule.value);
  const unit = schedule.unit!.replace(/s$/, '');
  if (UNIT_MS[unit]) return from + n * UNIT_MS[unit]!;
  if (unit === 'month' || unit === 'year') {
    const d = new Date(from);
    d.setUTCMonth(d.getUTCMonth() + (unit === 'year' ? 12 * n : n));
    return d.getTime();
  }
  return null;
}
