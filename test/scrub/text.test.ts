// The string scanners of data scrubbing (src/scrub/text.ts) against Relay's regular expressions:
// on short random strings (where a backtracking regex is harmless) each scan must find exactly what
// the regex finds (then filtered by the Luhn / mod-97 check), and on 1 MB adversarial strings — the
// inputs that make such regexes quadratic or worse — every scan must still finish (a quadratic scan
// of 1 MB would take hours and fail the test by its timeout; no duration is asserted).
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  applyRanges, findBearerTokens, findCards, findIbans, findIps, findPemKeys, findSecretPairs, findSsns, findUrlPasswords, luhn, lowerSameLength, type Range,
} from '../../src/scrub/text.js';
import { isPasswordKey, isPasswordValue } from '../../src/scrub/keys.js';

const spans = (rs: Range[]) => rs.map((r) => [r.start, r.end]).sort((a, b) => a[0]! - b[0]!);
/** Leftmost matches that pass `keep`, tried at every position (a match `keep` refuses does not hide a later one). */
function regexSpans(re: RegExp, s: string, keep: (m: string) => boolean = () => true): number[][] {
  const sticky = new RegExp(re.source, re.flags.replace('g', '') + 'y');
  const out: number[][] = [];
  for (let i = 0; i <= s.length; i++) {
    sticky.lastIndex = i;
    const m = sticky.exec(s);
    if (m?.[0].length && keep(m[0])) {
      out.push([i, i + m[0].length]);
      i += m[0].length - 1;
    }
  }
  return out;
}
const digitsOf = (m: string) => [...m].filter((c) => c >= '0' && c <= '9').map(Number);

/** Strings over a small alphabet that makes matches (and near misses) frequent. */
const text = (chars: string[], max = 60) => fc.array(fc.constantFrom(...chars), { maxLength: max }).map((a) => a.join(''));

describe('scanners agree with the regular expressions they replace', () => {
  it('card numbers (Relay CREDITCARD_REGEX + Luhn)', () => {
    const re = /\b((?:3[47]\d|4\d{3}|5[1-5]\d\d|65\d\d|6011)(?:[-\s]?\d){12})\b/g;
    const cards = ['4111111111111111', '4111 1111 1111 1111', '5555-5555-5555-4444', '378282246310005', '6011111111111117', '4111111111111112'];
    fc.assert(fc.property(fc.array(fc.oneof(fc.constantFrom(...cards), text(['4', '1', '0', '5', '6', ' ', '-', 'a', '_', '.'], 8)), { maxLength: 6 }).map((a) => a.join('')), (s) => {
      const out: Range[] = [];
      findCards(s, out, 'r');
      expect(spans(out)).toEqual(regexSpans(re, s, (m) => luhn(digitsOf(m))));
    }), { numRuns: 2000 });
  });

  it('US SSNs', () => {
    const re = /\b\d{3}-\d{2}-\d{4}\b/g;
    fc.assert(fc.property(text(['1', '2', '-', 'a', ' ', '_'], 40), (s) => {
      const out: Range[] = [];
      findSsns(s, out, 'r');
      expect(spans(out)).toEqual(regexSpans(re, s));
    }), { numRuns: 2000 });
  });

  it('IBANs (Relay IBAN_REGEX + mod 97)', () => {
    const re = /\b(?:DE|GB|FR|NL)\d{2}[a-zA-Z0-9]{11,29}\b/g;
    const ibans = ['DE89370400440532013000', 'GB82WEST12345698765432', 'FR1420041010050500013M02606', 'NL91ABNA0417164300', 'DE89370400440532013001'];
    const mod97ok = (m: string) => {
      const r = (m.slice(4) + m.slice(0, 4)).toUpperCase().replace(/[A-Z]/g, (c) => String(c.charCodeAt(0) - 55));
      let x = 0;
      for (const d of r) x = (x * 10 + Number(d)) % 97;
      return x === 1;
    };
    fc.assert(fc.property(fc.array(fc.oneof(fc.constantFrom(...ibans), text(['D', 'E', '8', '9', ' ', '_', 'a'], 6)), { maxLength: 5 }).map((a) => a.join('')), (s) => {
      const out: Range[] = [];
      findIbans(s, out, 'r');
      expect(spans(out)).toEqual(regexSpans(re, s, mod97ok));
    }), { numRuns: 2000 });
  });

  it('URL passwords (legacy URL_PASSWORD_RE, group 2)', () => {
    const re = /\/\/[a-zA-Z0-9%_.-]+:([a-zA-Z0-9%_.-]+)@/g;
    fc.assert(fc.property(text(['/', ':', '@', 'a', 'b', '.', ' '], 40), (s) => {
      const out: Range[] = [];
      findUrlPasswords(s, out, 'r');
      const want: number[][] = [];
      for (const m of s.matchAll(re)) {
        const start = m.index! + m[0].length - 1 - m[1]!.length;
        want.push([start, start + m[1]!.length]);
      }
      expect(spans(out)).toEqual(want);
    }), { numRuns: 2000 });
  });

  it('bearer tokens', () => {
    const re = /\bbearer[ \t\n\r]+[^ \t\n\r]+/gi;
    fc.assert(fc.property(fc.array(fc.oneof(fc.constantFrom('Bearer', 'bearer', 'BEARER'), text(['x', ' ', '\t', '_', '='], 4)), { maxLength: 8 }).map((a) => a.join('')), (s) => {
      const out: Range[] = [];
      findBearerTokens(s, lowerSameLength(s), out, 'r');
      expect(spans(out)).toEqual(regexSpans(re, s));
    }), { numRuns: 2000 });
  });

  it('the password key and value words (Relay PASSWORD_KEY_REGEX, TOKEN_KEY_REGEX)', () => {
    const value = /(password|secret|passwd|api[-_]key|apikey|auth|credentials|mysql_pwd|privatekey|private[-_]key|sentry_key|token[^\s]*[:=]|^otp$|^two[-_]factor$)/;
    const words = ['password', 'secret', 'api_key', 'api-key', 'auth', 'token', 'otp', 'two_factor', 'sentry_key', 'x', ' ', ':', '=', 'ke'];
    fc.assert(fc.property(fc.array(fc.constantFrom(...words), { maxLength: 5 }).map((a) => a.join('')), (s) => {
      expect(isPasswordValue(s)).toBe(value.test(s));
      expect(isPasswordKey(s)).toBe(value.test(s) || s.includes('token'));
    }), { numRuns: 2000 });
  });
});

describe('what each scanner replaces', () => {
  const run = (s: string, f: (s: string, out: Range[]) => void) => {
    const out: Range[] = [];
    f(s, out);
    return applyRanges(s, out).value;
  };
  it('PEM key bodies, keeping the BEGIN and END lines', () => {
    const s = 'key: -----BEGIN RSA PRIVATE KEY-----\nMIIEow\nAbc==\n-----END RSA PRIVATE KEY----- end';
    expect(run(s, (x, o) => findPemKeys(x, o, 'r'))).toBe('key: -----BEGIN RSA PRIVATE KEY-----\n[Filtered]\n-----END RSA PRIVATE KEY----- end');
    expect(run('-----BEGIN CERTIFICATE-----\nabc\n-----END CERTIFICATE-----', (x, o) => findPemKeys(x, o, 'r'))).toBe('-----BEGIN CERTIFICATE-----\nabc\n-----END CERTIFICATE-----');
  });
  it('IP addresses standing alone, IPv4 and IPv6', () => {
    const f = (x: string, o: Range[]) => findIps(x, o, 'r');
    expect(run('from 10.1.2.3, [2001:db8::1]:443 and host:192.168.0.1.', f)).toBe('from [ip], [[ip]]:443 and host:[ip].');
    expect(run('v1.2.3.4 1.2.3 deadbeef 10.0.0.256 a::b', f)).toBe('v1.2.3.4 1.2.3 deadbeef 10.0.0.256 [ip]');
  });
  it('secret pairs in text: only the value', () => {
    const f = (x: string, o: Range[]) => findSecretPairs(x, lowerSameLength(x), isPasswordKey, o, 'r');
    expect(run('login failed: password=hunter2 user=bob, {"api_key": "abc def"} access_token:xyz&b=1', f))
      .toBe('login failed: password=[Filtered] user=bob, {"api_key": "[Filtered]"} access_token:[Filtered]&b=1');
  });
  it('overlapping matches merge', () => {
    const s = 'Authorization: Bearer abc.def';
    const out: Range[] = [];
    findSecretPairs(s, lowerSameLength(s), isPasswordKey, out, 'a');
    findBearerTokens(s, lowerSameLength(s), out, 'b');
    expect(applyRanges(s, out)).toEqual({ value: 'Authorization: [Filtered]', remarks: [['b', 's', 15, 25]] });
  });
});

describe('linear time: 1 MB adversarial strings finish', () => {
  const MB = 1 << 20;
  const rep = (unit: string) => unit.repeat(Math.ceil(MB / unit.length)).slice(0, MB);
  const inputs = [
    rep('4'), rep('4111 '), rep('4-'), rep('1-1-'), rep('123-45-'), rep('DE89'), rep('DE89 '), rep('//a:'), rep('//a:b'), rep('/'),
    rep('-----BEGIN PRIVATE KEY-----'), rep('-----BEGIN PRIVATE KEY-----x-----END '), rep('bearer '), rep('bearer'), rep('token'),
    rep('password='), rep('password="'), rep('a='), rep('1.1.1.1.'), rep('1:'), rep('::'), rep('a.1'), rep('1.'),
  ];
  it.each(inputs.map((s, i) => [i, s] as const))('input %i', (_i, s) => {
    const lower = lowerSameLength(s);
    const out: Range[] = [];
    findCards(s, out, 'r');
    findSsns(s, out, 'r');
    findIbans(s, out, 'r');
    findPemKeys(s, out, 'r');
    findUrlPasswords(s, out, 'r');
    findBearerTokens(s, lower, out, 'r');
    findIps(s, out, 'r');
    findSecretPairs(s, lower, isPasswordKey, out, 'r');
    isPasswordValue(lower);
    expect(applyRanges(s, out).value.length).toBeGreaterThan(0);
  });
});
