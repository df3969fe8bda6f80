// The parameterization before it was made linear (commit a3bec95), kept as the reference the linear one
// must agree with on texts without the long runs it rescanned (test/grouping/hostile-input.test.ts).
// Message / exception-value parameterization: event-specific fragments (ids, numbers, dates,
// addresses...) are replaced by `<name>` placeholders so that messages which differ only in
// such values group together. Patterns are tried as ONE alternation, so at each position the
// first pattern in this list that matches wins (e.g. `email` before `url` before `hostname`;
// `uuid`/`sha1`/`md5` before the generic `hex`; `float` before `int`).
//
// Compatibility note: for `int` we keep the older "a leading dash is always part of the
// number" behaviour (`HTTP/1.1-8080` -> `HTTP/<float><int>`), which is what the reference
// snapshots were produced with.

const MONTH = '(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)';
const DAY = '(?:Sun|Mon|Tue|Wed|Thu|Fri|Sat)';
const TZ = '(?:UT|GMT|(?:E|C|M|P)(?:ST|DT)|[A-IK-Z])';
const IPV4 = '(?:(?:25[0-5]|(?:2[0-4]|1?[0-9])?[0-9])\\.){3}(?:25[0-5]|(?:2[0-4]|1?[0-9])?[0-9])';
const H4 = '[0-9a-fA-F]{1,4}';
const TLDS =
  'com|net|org|jp|de|uk|fr|br|it|ru|es|me|gov|pl|ca|au|cn|co|in|nl|edu|info|eu|ch|id|at|kr|cz|mx|be|tv|se|tr|tw|al|ua|ir|vn|cl|sk|ly|cc|to|no|fi|us|pt|dk|ar|hu|tk|gr|il|news|ro|my|biz|ie|za|nz|sg|ee|th|io|xyz|pe|bg|hk|rs|lt|link|ph|club|si|site|mobi|by|cat|wiki|la|ga|xxx|cf|hr|ng|jobs|online|kz|ug|gq|ae|is|lv|pro|fm|tips|ms|sa|app';

export const PARAMETERIZATION_PATTERNS: Array<[name: string, pattern: string]> = [
  ['email', "[a-zA-Z0-9.!#$%&'*+/=?^_`{|}~-]+@[a-zA-Z0-9-]+(?:\\.[a-zA-Z0-9-]+)*"],
  ['url', '\\b(?:wss?|https?|ftp)://[^\\s/$.?#].[^\\s]*'],
  ['hostname', `\\b(?:[a-zA-Z0-9\\-]{1,63}\\.)+?(?:${TLDS}|${TLDS.toUpperCase()})\\b`],
  [
    'ip',
    '(?<![0-9a-zA-Z_])(?:' +
      [
        `(?:${H4}:){7}${H4}`,
        `(?:${H4}:){1,7}:`,
        `(?:${H4}:){1,6}:${H4}`,
        `(?:${H4}:){1,5}(?::${H4}){1,2}`,
        `(?:${H4}:){1,4}(?::${H4}){1,3}`,
        `(?:${H4}:){1,3}(?::${H4}){1,4}`,
        `(?:${H4}:){1,2}(?::${H4}){1,5}`,
        `${H4}:(?:(?::${H4}){1,6})`,
        `:(?:(?::${H4}){1,7}|:)`,
        'fe80:(?::[0-9a-fA-F]{0,4}){0,4}%[0-9a-zA-Z]+',
        `::(?:ffff(?::0{1,4})?:)?${IPV4}`,
        `(?:${H4}:){1,4}:${IPV4}\\b`,
      ].join('|') +
      `)(?![0-9a-zA-Z])|\\b${IPV4}\\b`,
  ],
  ['traceparent', '\\b00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]\\b|\\b1-[0-9a-f]{8}-[0-9a-f]{24}\\b'],
  ['uuid', '\\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\\b'],
  ['sha1', '\\b[0-9a-fA-F]{40}\\b'],
  ['md5', '\\b[0-9a-fA-F]{32}\\b'],
  [
    'date',
    [
      // RFC 822 / 1123
      `${DAY},\\s\\d{1,2}\\s${MONTH}\\s\\d{2,4}\\s\\d{1,2}:\\d{1,2}(?::\\d{1,2})?\\s(?:[-+]\\d{2}[0-5]\\d|${TZ})`,
      // "Mon Jan 02, 1999", "Jan 02, 1999"
      `(?:${DAY}\\s)?${MONTH}\\s[0-3]\\d,\\s\\d{2,4}`,
      // RFC 850
      `(?:Sun|Sunday|Mon|Monday|Tue|Tuesday|Wed|Wednesday|Thu|Thursday|Fri|Friday|Sat|Saturday),\\s\\d{2}-${MONTH}-\\d{2}\\s\\d{2}:\\d{2}:\\d{2}\\s${TZ}`,
      // RFC 3339 (+ nanoseconds)
      '\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(?:\\.\\d+)?Z?(?:[+-]?\\d{2}:\\d{2})?',
      // JavaScript Date#toString
      `${DAY}\\s${MONTH}\\s\\d{2}\\s\\d{4}\\s\\d{2}:\\d{2}:\\d{2}\\sGMT[+-]\\d{4}(?:\\s\\([^)]+\\))?`,
      // date-time with offset, then plain date-time
      '\\d{4}-?[01]\\d-?[0-3]\\d[\\sT][0-2]\\d:?[0-5]\\d(?::?[0-5]\\d(?:\\.\\d+)?)?(?:[+-][0-2]\\d:?[0-5]\\d|Z)',
      '\\d{4}-?[01]\\d-?[0-3]\\d[\\sT][0-2]\\d:?[0-5]\\d(?::?[0-5]\\d(?:\\.\\d+)?)?',
      // kitchen times, 12h and 24h
      '(?<!\\d)(?:[1-9]|1[0-2]):[0-5]\\d(?::[0-5]\\d)?(?![\\d:])(?:\\s?[aApP][Mm])?',
      '(?<!\\d)(?:0?\\d|1\\d|2[0-3]):[0-5]\\d(?::[0-5]\\d)?(?![\\d:])',
      '\\d{4}-[01]\\d-[0-3]\\d',
      '[0-2]\\d:[0-5]\\d:[0-5]\\d',
      `\\b(?:${DAY}\\s+)?${MONTH}\\s+\\d{1,2}\\s+\\d{2}:\\d{2}:\\d{2}\\s+\\d{4}`,
      `\\b(?:${DAY},\\s+)?(?:0[1-9]|[1-2]?\\d|3[01])\\s+${MONTH}\\s+(?:19\\d{2}|[2-9]\\d{3})\\s+(?:2[0-3]|[0-1]\\d):[0-5]\\d(?::(?:60|[0-5]\\d))?\\s+(?:[-+]\\d{2}[0-5]\\d|${TZ})`,
      'datetime\\.datetime\\(.*?\\)',
    ].join('|'),
  ],
  ['duration', '\\b\\d+ms|\\d+(?:\\.\\d+)?s\\b'],
  ['swift_txn_id', '\\btx[0-9a-f]{21}-[0-9a-f]{10}\\S*'],
  [
    'hex',
    '\\b0[xX][0-9a-fA-F]+\\b|(?:\\b|(?<!\\w)-)(?:(?=[a-f]*[0-9])(?=[0-9]*[a-f])[0-9a-f]{4,6}|(?=[A-F]*[0-9])(?=[0-9]*[A-F])[0-9A-F]{4,6}|[0-9a-f]{8,128}|[0-9A-F]{8,128})\\b',
  ],
  ['git_sha', '\\b(?=[a-f]*[0-9])(?=[0-9]*[a-f])[0-9a-f]{7}\\b'],
  ['float', '-\\d+\\.\\d+\\b|\\b\\d+\\.\\d+\\b'],
  ['int', '-\\d{1,7}\\b|\\b\\d{1,7}\\b'],
  ['quoted_str', `(?<==)(?:'[^']+'|"[^"]+")`],
  ['bool', '(?<==)(?:True|true|False|false)'],
];

// Cheap preconditions: a pattern that cannot match anywhere in the text is left out of the
// alternation (same result, but avoids the quadratic scans some patterns do on long texts
// that cannot match them, e.g. `email` on a long run of word characters without any `@`).
const PRECONDITIONS: Record<string, (s: string) => boolean> = {
  email: (s) => s.includes('@'),
  url: (s) => s.includes('://'),
  hostname: (s) => s.includes('.'),
  ip: (s) => s.includes(':') || s.includes('.'),
  traceparent: (s) => s.includes('-'),
  uuid: (s) => s.includes('-'),
  sha1: (s) => /[0-9a-fA-F]{40}/.test(s),
  md5: (s) => /[0-9a-fA-F]{32}/.test(s),
  duration: (s) => /\d(?:m?s|\.\d)/.test(s),
  swift_txn_id: (s) => s.includes('tx'),
  hex: (s) => /[0-9a-fA-F]/.test(s),
  git_sha: (s) => /\d/.test(s),
  float: (s) => /\d\.\d/.test(s),
  int: (s) => /\d/.test(s),
  quoted_str: (s) => s.includes('='),
  bool: (s) => s.includes('='),
};

const compiled = new Map<number, RegExp>();
function regexFor(text: string): RegExp {
  let mask = 0;
  PARAMETERIZATION_PATTERNS.forEach(([name], i) => {
    const pre = PRECONDITIONS[name];
    if (!pre || pre(text)) mask |= 1 << i;
  });
  let re = compiled.get(mask);
  if (!re) {
    const parts = PARAMETERIZATION_PATTERNS.filter((_, i) => mask & (1 << i)).map(([n, p]) => `(?<${n}>${p})`);
    re = new RegExp(parts.join('|'), 'g');
    // A few combinations occur in practice; 2^16 could in theory, so the map is bounded.
    if (compiled.size >= 256) compiled.clear();
    compiled.set(mask, re);
  }
  return re;
}

/**
 * Longest text we parameterize. Ingestion truncates messages to 8192 characters, so stored
 * events never exceed it; the cap keeps a hostile oversized value from costing seconds.
 */
export const MAX_MESSAGE_CHARS = 8192;

/** Replaces every event-specific fragment with `<name>`. */
export function parameterize(input: string): string {
  const text = input.length > MAX_MESSAGE_CHARS ? input.slice(0, MAX_MESSAGE_CHARS) : input;
  return text.replace(regexFor(text), (...args) => {
    const groups = args[args.length - 1] as Record<string, string | undefined>;
    for (const [name] of PARAMETERIZATION_PATTERNS) if (groups[name] !== undefined) return `<${name}>`;
    return '';
  });
}

/**
 * Keeps at most the first two non-empty lines (appending "..." when anything was cut), then
 * parameterizes. Used for log messages and exception values.
 */
export function normalizeMessage(message: string): string {
  const lines = message.split(/\r\n|[\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029]/);
  let trimmed = lines.filter((l) => l.trim() !== '').slice(0, 2).join('\n');
  if (trimmed !== message) trimmed += '...';
  return parameterize(trimmed);
}
