// When a cron monitor expects its next check-in (protocol notes §14): the next tick of its schedule
// after the last check-in, as Sentry computes nextCheckIn — a crontab's next matching minute in the
// monitor's timezone, or the last check-in plus the interval. Unreadable schedules give null.

const UNIT_MS: Record<string, number> = { minute: 60_000, hour: 3_600_000, day: 86_400_000, week: 604_800_000 };
const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];
const DAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];
const MACROS: Record<string, string> = {
  '@yearly': '0 0 1 1 *', '@annually': '0 0 1 1 *', '@monthly': '0 0 1 * *', '@weekly': '0 0 * * 0',
  '@daily': '0 0 * * *', '@midnight': '0 0 * * *', '@hourly': '0 * * * *',
};
/** A schedule with no match within this many years (e.g. 30 February) has no next check-in. */
const SEARCH_YEARS = 5;

interface Crontab {
  minutes: Set<number>;
  hours: Set<number>;
  days: Set<number>;
  months: Set<number>;
  weekdays: Set<number>;
  /** Both day fields restricted: a day matches when either does (as in Vixie cron and croniter). */
  dayOr: boolean;
}

function field(s: string, min: number, max: number, names?: string[]): Set<number> | null {
  const out = new Set<number>();
  for (const part of s.toLowerCase().split(',')) {
    const m = /^(\*|[a-z0-9]+(?:-[a-z0-9]+)?)(?:\/(\d+))?$/.exec(part);
    if (!m) return null;
    const num = (v: string): number => {
      const i = names ? names.indexOf(v) : -1;
      return i >= 0 ? i + (names === MONTHS ? 1 : 0) : /^\d+$/.test(v) ? Number(v) : NaN;
    };
    let lo = min;
    let hi = max;
    if (m[1] !== '*') {
      const [a, b] = m[1]!.split('-');
      lo = num(a!);
      hi = b === undefined ? (m[2] ? max : lo) : num(b);
    }
    const step = m[2] ? Number(m[2]) : 1;
    if (!Number.isInteger(lo) || !Number.isInteger(hi) || lo < min || hi > max || lo > hi || step < 1) return null;
    for (let v = lo; v <= hi; v += step) out.add(v);
  }
  return out;
}

export function parseCrontab(expr: string): Crontab | null {
  const text = MACROS[expr.trim().toLowerCase()] ?? expr;
  const f = text.trim().split(/\s+/);
  if (f.length !== 5) return null;
  const minutes = field(f[0]!, 0, 59);
  const hours = field(f[1]!, 0, 23);
  const days = field(f[2]!, 1, 31);
  const months = field(f[3]!, 1, 12, MONTHS);
  const weekdays = field(f[4]!, 0, 7, DAYS);
  if (!minutes || !hours || !days || !months || !weekdays) return null;
  if (weekdays.delete(7)) weekdays.add(0);
  return { minutes, hours, days, months, weekdays, dayOr: f[2] !== '*' && f[4] !== '*' };
}

const formatters = new Map<string, Intl.DateTimeFormat>();

/** The zone's offset from UTC at `ms`, in ms (wall clock − UTC). Throws RangeError for an unknown zone. */
function offsetMs(timeZone: string, ms: number): number {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', { timeZone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric' });
    formatters.set(timeZone, f);
  }
  const p: Record<string, number> = {};
  for (const x of f.formatToParts(new Date(ms))) if (x.type !== 'literal') p[x.type] = Number(x.value);
  return Date.UTC(p.year!, p.month! - 1, p.day!, p.hour!, p.minute!) - Math.floor(ms / 60_000) * 60_000;
}

/** The first minute strictly after `after` (ms) that matches the crontab in `timeZone`, or null. */
export function nextCronTime(tab: Crontab, after: number, timeZone = 'UTC'): number | null {
  let off: number;
  try {
    off = offsetMs(timeZone, after);
  } catch {
    return null;
  }
  // Search in wall-clock time, held in a Date's UTC fields, then map the match back to an instant.
  let w = Math.floor((after + off) / 60_000) * 60_000 + 60_000;
  const limit = w + SEARCH_YEARS * 366 * 86_400_000;
  while (w < limit) {
    const d = new Date(w);
    const [y, mo, day, h] = [d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate(), d.getUTCHours()];
    if (!tab.months.has(mo + 1)) {
      w = Date.UTC(y, mo + 1, 1);
      continue;
    }
    const dom = tab.days.has(day);
    const dow = tab.weekdays.has(d.getUTCDay());
    if (!(tab.dayOr ? dom || dow : dom && dow)) {
      w = Date.UTC(y, mo, day + 1);
      continue;
    }
    if (!tab.hours.has(h)) {
      w = Date.UTC(y, mo, day, h + 1);
      continue;
    }
    if (!tab.minutes.has(d.getUTCMinutes())) {
      w += 60_000;
      continue;
    }
    // Wall time → instant with the offset in force then (twice: the first guess may sit across a
    // DST change). A wall time skipped by DST comes out shifted by the change, as with croniter.
    let t = w - offsetMs(timeZone, w - off);
    t = w - offsetMs(timeZone, t);
    if (t > after) return t;
    w += 60_000;
  }
  return null;
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
    const tab = parseCrontab(String(schedule.value));
    return tab ? nextCronTime(tab, from, timeZone || 'UTC') : null;
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
