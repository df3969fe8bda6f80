import { isIP, isIPv4 } from 'node:net';

// What data scrubbing finds inside a string, each by one left-to-right scan without regular
// expressions: every scanner looks at a character a bounded number of times, so a 1 MB value costs
// a few milliseconds whatever it holds (test/scrub/linear.test.ts, bench/micro/scrub.ts). They follow
// Relay's default rules (relay-pii/src/regexes.rs): the card, IBAN, US SSN, PEM key, URL password
// and bearer-token patterns, and IP addresses. Where Relay's regex accepts more than a real value,
// the scan also checks the value itself: a card number must pass the Luhn check and an IBAN its
// mod-97 check, so order numbers and ids that merely look like them are kept.

/** A part of the original string to replace, and the rule that asked for it. */
export interface Range {
  start: number;
  end: number;
  rule: string;
  text: string;
}

export const FILTERED = '[Filtered]';

const isDigit = (c: number): boolean => c >= 48 && c <= 57;
const isUpper = (c: number): boolean => c >= 65 && c <= 90;
const isAlnum = (c: number): boolean => isDigit(c) || isUpper(c) || (c >= 97 && c <= 122);
/** \w in ASCII: what a regex's \b looks at. */
export const isWord = (c: number): boolean => isAlnum(c) || c === 95;
/** \s */
const isSpace = (c: number): boolean => c === 32 || (c >= 9 && c <= 13) || c === 0xa0 || c === 0x2028 || c === 0x2029 || c === 0xfeff;

/** Whether position i of s starts a word (a regex \b before a word character). */
function startsWord(s: string, i: number): boolean {
  return i === 0 || !isWord(s.charCodeAt(i - 1));
}
function endsWord(s: string, i: number): boolean {
  return i >= s.length || !isWord(s.charCodeAt(i));
}

/**
 * Card numbers (Relay's CREDITCARD_REGEX: Amex 3[47]x, Visa 4xxx, Mastercard 5[1-5]xx, Discover 65xx
 * and 6011, then 12 more digits each optionally after one '-' or white space; 15 or 16 digits as a
 * whole word) that pass the Luhn check. A start is only tried where a word begins, and each try
 * reads at most 27 characters past its prefix.
 */
export function findCards(s: string, out: Range[], rule: string, text = FILTERED): void {
  const n = s.length;
  for (let i = 0; i < n; i++) {
    const c0 = s.charCodeAt(i);
    // Every card starts with 3, 4, 5 or 6 at the start of a word.
    if (c0 < 51 || c0 > 54 || (i > 0 && isWord(s.charCodeAt(i - 1)))) continue;
    const c1 = s.charCodeAt(i + 1) - 48, c2 = s.charCodeAt(i + 2) - 48, c3 = s.charCodeAt(i + 3) - 48;
    const d2 = c2 >= 0 && c2 <= 9, d3 = c3 >= 0 && c3 <= 9;
    let prefix = 0;
    if (c0 === 51) prefix = (c1 === 4 || c1 === 7) && d2 ? 3 : 0;
    else if (c0 === 52) prefix = c1 >= 0 && c1 <= 9 && d2 && d3 ? 4 : 0;
    else if (c0 === 53) prefix = c1 >= 1 && c1 <= 5 && d2 && d3 ? 4 : 0;
    else prefix = (c1 === 5 && d2 && d3) || (c1 === 0 && c2 === 1 && c3 === 1) ? 4 : 0;
    if (!prefix) continue;
    // Luhn in the same pass: with 15 or 16 digits in all, the k-th from the left is doubled when
    // (total - 1 - k) is odd.
    const total = prefix + 12;
    let sum = 0;
    let k = 0;
    let j = i;
    for (; k < total; k++) {
      let c = s.charCodeAt(j);
      if (k >= prefix && (c === 45 || isSpace(c))) c = s.charCodeAt(++j);
      if (!isDigit(c)) break;
      let v = c - 48;
      if ((total - 1 - k) % 2 === 1) v = v * 2 > 9 ? v * 2 - 9 : v * 2;
      sum += v;
      j++;
    }
    if (k === total && endsWord(s, j) && sum % 10 === 0) {
      out.push({ start: i, end: j, rule, text });
      i = j - 1;
    }
  }
}

export function luhn(digits: number[]): boolean {
  let sum = 0;
  for (let k = digits.length - 1, double = false; k >= 0; k--, double = !double) {
    let v = digits[k]!;
    if (double) {
      v *= 2;
      if (v > 9) v -= 9;
    }
    sum += v;
  }
  return sum % 10 === 0;
}

/** US social security numbers: ddd-dd-dddd as a whole word (Relay's US_SSN_REGEX). */
export function findSsns(s: string, out: Range[], rule: string, text = FILTERED): void {
  const n = s.length;
  for (let i = 0; i + 11 <= n; i++) {
    if (!isDigit(s.charCodeAt(i)) || (i > 0 && isWord(s.charCodeAt(i - 1)))) continue;
    if (s.charCodeAt(i + 3) !== 45 || s.charCodeAt(i + 6) !== 45) continue;
    let ok = true;
    for (const k of SSN_DIGITS) if (!isDigit(s.charCodeAt(i + k))) ok = false;
    if (ok && endsWord(s, i + 11)) {
      out.push({ start: i, end: i + 11, rule, text });
      i += 10;
    }
  }
}
/** Where ddd-dd-dddd has its digits. */
const SSN_DIGITS = [1, 2, 4, 5, 7, 8, 9, 10];

// Relay's IBAN_REGEX country codes.
const IBAN_COUNTRIES = new Set(('AT AD AE AL AZ BA BE BG BH BR BY CH CR CY CZ DE DK DO EE EG ES FI FO FR GB GE GI GL GR GT HR HU IE IL IQ IS IT JO KW KZ LB LC LI LT ' +
  'LU LV LY MC MD ME MK MR MT MU NL NO PK PL PS PT QA RO RU RS SA SC SE SI SK SM ST SV TL TN TR UA VA VG XK DZ AO BJ BF BI CV CM CF TD KM CG CI ' +
  'DJ GQ GA GW HN IR MG ML MA MZ NI NE SN TG').split(' '));

/** IBANs: country code, 2 check digits, 11–29 letters or digits as a whole word, passing the mod-97 check. */
export function findIbans(s: string, out: Range[], rule: string, text = FILTERED): void {
  const n = s.length;
  for (let i = 0; i + 15 <= n; i++) {
    if (!isUpper(s.charCodeAt(i)) || !startsWord(s, i)) continue;
    if (!IBAN_COUNTRIES.has(s.slice(i, i + 2)) || !isDigit(s.charCodeAt(i + 2)) || !isDigit(s.charCodeAt(i + 3))) continue;
    let j = i + 4;
    while (j < n && isAlnum(s.charCodeAt(j))) j++;
    const len = j - i - 4;
    if (len >= 11 && len <= 29 && endsWord(s, j) && mod97(s.slice(i + 4, j) + s.slice(i, i + 4)) === 1) out.push({ start: i, end: j, rule, text });
    // Nothing inside this run of letters and digits starts a word.
    i = j - 1;
  }
}

function mod97(v: string): number {
  let r = 0;
  const u = v.toUpperCase();
  for (let k = 0; k < u.length; k++) {
    const c = u.charCodeAt(k);
    const x = isDigit(c) ? c - 48 : c - 55;
    r = (x > 9 ? r * 100 + x : r * 10 + x) % 97;
  }
  return r;
}

function pemLabel(s: string, from: number): number {
  // [A-Z ]+ ending in "PRIVATE KEY" or "PUBLIC KEY", then "-----": returns the index after the dashes, or -1.
  let j = from;
  while (j < s.length && (isUpper(s.charCodeAt(j)) || s.charCodeAt(j) === 32)) j++;
  if (j === from || !s.startsWith('-----', j)) return -1;
  const label = s.slice(from, j);
  return label.endsWith('PRIVATE KEY') || label.endsWith('PUBLIC KEY') ? j + 5 : -1;
}

/** The body of PEM keys (Relay's PEM_KEY_REGEX): between BEGIN … KEY----- and -----END … KEY-----. */
export function findPemKeys(s: string, out: Range[], rule: string, text = FILTERED): void {
  let pos = 0;
  for (;;) {
    const b = s.indexOf('-----BEGIN', pos);
    if (b < 0) return;
    let start = pemLabel(s, b + 10);
    if (start < 0) {
      pos = b + 10;
      continue;
    }
    while (s.charCodeAt(start) === 32 || s.charCodeAt(start) === 9) start++;
    if (s.charCodeAt(start) === 13) start++;
    if (s.charCodeAt(start) === 10) start++;
    // The first END line that closes it; when none does, no later BEGIN has one either.
    let e = s.indexOf('-----END', start + 1);
    while (e >= 0 && pemLabel(s, e + 8) < 0) e = s.indexOf('-----END', e + 8);
    if (e < 0) return;
    let end = e;
    if (s.charCodeAt(end - 1) === 10) end--;
    if (s.charCodeAt(end - 1) === 13) end--;
    if (end > start) out.push({ start, end, rule, text });
    pos = pemLabel(s, e + 8);
  }
}

const isUrlAuthChar = (c: number): boolean => isAlnum(c) || c === 37 || c === 95 || c === 46 || c === 45;

/** The password of a URL's user:password@ (Sentry's legacy URL_PASSWORD_RE). */
export function findUrlPasswords(s: string, out: Range[], rule: string, text = FILTERED): void {
  let pos = 0;
  for (;;) {
    const i = s.indexOf('//', pos);
    if (i < 0) return;
    pos = i + 1;
    let j = i + 2;
    while (j < s.length && isUrlAuthChar(s.charCodeAt(j))) j++;
    if (j === i + 2 || s.charCodeAt(j) !== 58) continue;
    let k = j + 1;
    while (k < s.length && isUrlAuthChar(s.charCodeAt(k))) k++;
    if (k === j + 1 || s.charCodeAt(k) !== 64) continue;
    out.push({ start: j + 1, end: k, rule, text });
    pos = k + 1;
  }
}

/** "Bearer <token>" (Relay's BEARER_TOKEN_REGEX, case-insensitive): the whole match. `lower` is s in lower case, same length. */
export function findBearerTokens(s: string, lower: string, out: Range[], rule: string, text = FILTERED): void {
  let pos = 0;
  for (;;) {
    const b = lower.indexOf('bearer', pos);
    if (b < 0) return;
    pos = b + 6;
    if (!startsWord(s, b) || !isSpace(s.charCodeAt(b + 6))) continue;
    let t = b + 7;
    while (t < s.length && isSpace(s.charCodeAt(t))) t++;
    let e = t;
    while (e < s.length && !isSpace(s.charCodeAt(e))) e++;
    if (e === t) continue;
    out.push({ start: b, end: e, rule, text });
    pos = e;
  }
}

const isIpChar = (c: number): boolean => isDigit(c) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102) || c === 58 || c === 46;
/** Longest textual IPv6 address (IPv4-mapped): longer runs are not tested, so node:net's checks see short strings only. */
const MAX_IP_CHARS = 45;

/** IPv4 and IPv6 addresses standing alone (Relay's @ip rule), checked by node:net. */
export function findIps(s: string, out: Range[], rule: string, text = '[ip]'): void {
  const n = s.length;
  for (let i = 0; i < n; i++) {
    if (!isIpChar(s.charCodeAt(i))) continue;
    let j = i;
    let sep = false;
    while (j < n && isIpChar(s.charCodeAt(j))) {
      const c = s.charCodeAt(j);
      if (c === 58 || c === 46) sep = true;
      j++;
    }
    // The run [i, j) is all hex digits, dots and colons; a letter before or after makes it part of a word.
    let end = j;
    while (end > i && (s.charCodeAt(end - 1) === 46 || (s.charCodeAt(end - 1) === 58 && s.charCodeAt(end - 2) !== 58))) end--;
    if (sep && end - i <= MAX_IP_CHARS && startsWord(s, i) && endsWord(s, j) && isIP(s.slice(i, end))) out.push({ start: i, end, rule, text });
    else if (sep) {
      // "host:10.0.0.1", "[::1]:80"-like runs: the dotted quads inside, each standing alone.
      for (let k = i; k < end; k++) {
        const prev = k > 0 ? s.charCodeAt(k - 1) : 32;
        if (!isDigit(s.charCodeAt(k)) || isWord(prev) || prev === 46) continue;
        let m = k;
        let dots = 0;
        for (; m < end && (isDigit(s.charCodeAt(m)) || s.charCodeAt(m) === 46); m++) if (s.charCodeAt(m) === 46) dots++;
        let q = m;
        while (q > k && s.charCodeAt(q - 1) === 46) q--, dots--;
        if (dots === 3 && q - k <= 15 && endsWord(s, q) && isIPv4(s.slice(k, q))) out.push({ start: k, end: q, rule, text });
        k = m - 1;
      }
    }
    i = j - 1;
  }
}

/** `s` in lower case, index for index (toLowerCase changes the length of a few characters, e.g. 'İ'). */
export function lowerSameLength(s: string): string {
  const l = s.toLowerCase();
  if (l.length === s.length) return l;
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    out += c >= 65 && c <= 90 ? String.fromCharCode(c + 32) : s[i];
  }
  return out;
}

/**
 * Replaces the ranges (found in `s`) and returns the new string with Relay's remarks: the rule and
 * where its replacement now stands. Overlapping ranges merge into the first one's.
 */
export function applyRanges(s: string, ranges: Range[]): { value: string; remarks: [string, 's', number, number][] } {
  ranges.sort((a, b) => a.start - b.start || b.end - a.end);
  const merged: Range[] = [];
  for (const r of ranges) {
    const last = merged[merged.length - 1];
    if (last && r.start < last.end) last.end = Math.max(last.end, r.end);
    else merged.push({ ...r });
  }
  let value = '';
  let at = 0;
  const remarks: [string, 's', number, number][] = [];
  for (const r of merged) {
    value += s.slice(at, r.start);
    remarks.push([r.rule, 's', value.length, value.length + r.text.length]);
    value += r.text;
    at = r.end;
  }
  value += s.slice(at);
  return { value, remarks };
}

const isKeyChar = (c: number): boolean => isAlnum(c) || c === 95 || c === 45 || c === 46;
/** Longest key looked back at before a '=' or ':' (longer ones are not keys anyone writes). */
const MAX_TEXT_KEY = 64;

/**
 * In free text (messages, exception values): the value of `key=value` or `key: value` when the key
 * names a secret (`isSecretKey`), e.g. "login failed: password=hunter2" or `{"api_key": "abc"}`.
 * Only the value is replaced, so the text still reads. Each separator looks back over its key (at
 * most MAX_TEXT_KEY characters) and a found value is skipped as a whole: linear.
 */
export function findSecretPairs(s: string, lower: string, isSecretKey: (lowerKey: string) => boolean, out: Range[], rule: string, text = FILTERED): void {
  const n = s.length;
  for (let p = 0; p < n; p++) {
    const c = s.charCodeAt(p);
    if (c !== 61 && c !== 58) continue;
    let ke = p;
    if (ke > 0 && (s.charCodeAt(ke - 1) === 34 || s.charCodeAt(ke - 1) === 39)) ke--;
    let ks = ke;
    while (ks > 0 && ke - ks < MAX_TEXT_KEY && isKeyChar(s.charCodeAt(ks - 1))) ks--;
    // The shortest secret key word is 3 characters ("otp").
    if (ke - ks < 3 || !isSecretKey(lower.slice(ks, ke))) continue;
    let v = p + 1;
    while (v < n && (s.charCodeAt(v) === 32 || s.charCodeAt(v) === 9)) v++;
    const q = s.charCodeAt(v);
    // Filtered already (a payload scrubbed before, digested again): nothing to do.
    if (s.startsWith(text, v) || ((q === 34 || q === 39) && s.startsWith(text, v + 1))) {
      p = v + text.length - 1;
      continue;
    }
    let e: number;
    if (q === 34 || q === 39) {
      v++;
      e = s.indexOf(String.fromCharCode(q), v);
      if (e < 0) e = n;
    } else {
      e = v;
      while (e < n && !isSpace(s.charCodeAt(e)) && !STOP.has(s.charCodeAt(e))) e++;
    }
    if (e > v && s.slice(v, e) !== text) out.push({ start: v, end: e, rule, text });
    p = Math.max(p, e - 1);
  }
}

/** Where an unquoted value in text ends: & and ; (query strings, cookies), , and the closing brackets. */
const STOP = new Set([38, 59, 44, 34, 39, 41, 93, 125, 62]);
