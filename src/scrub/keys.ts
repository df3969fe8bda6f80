// Which key names and values the default rules filter, matched as plain substrings of the lower-cased
// text (no regular expressions). The lists are Relay's (relay-pii/src/regexes.rs PASSWORD_KEY_REGEX,
// TOKEN_KEY_REGEX; relay-pii/src/convert.rs SENSITIVE_COOKIES), plus `sentry_key`: a DSN's key in a
// query string or URL, which Relay leaves alone, but a stored DSN key lets anyone send events as the
// project, so it is filtered like a secret.

/** A key (or a value) containing one of these is filtered: `@password:filter` (searched by hasPasswordWord). */
export const PASSWORD_WORDS = ['password', 'secret', 'passwd', 'api_key', 'api-key', 'apikey', 'auth', 'credentials', 'mysql_pwd',
  'privatekey', 'private_key', 'private-key', 'sentry_key'];
/** ...or equal to one of these. */
const PASSWORD_EXACT = new Set(['otp', 'two_factor', 'two-factor']);
/** Longer strings are not looked up in PASSWORD_EXACT: none is one of them, and the lookup would hash the whole string. */
const EXACT_MAX = 10;

/** Cookie names filtered whatever their value (Relay: `*.cookies.<name>` → @anything:filter). */
export const SENSITIVE_COOKIES = new Set(['sentrysid', 'sudo', 'su', 'session', '__session', 'sessionid', 'user_session', 'symfony',
  'phpsessid', 'fasthttpsessionid', 'mysession', 'irissessionid', '_vercel_jwt', 'csrf', 'xsrf', '_xsrf', '_csrf', 'csrf-token',
  'csrf_token', 'xsrf-token', 'xsrf_token', 'fastcsrf', '_iris_csrf']);

/** Headers that carry every cookie at once. */
export const COOKIE_HEADERS = new Set(['cookie', 'set-cookie']);

function containsAny(lower: string, words: readonly string[]): boolean {
  for (const w of words) if (lower.includes(w)) return true;
  return false;
}

/**
 * PASSWORD_WORDS in `lower`, with one search per shared stem first (pass, api, private): 8 native
 * searches for a string that has none, instead of 13 (the digest runs this on every key and value).
 */
function hasPasswordWord(l: string): boolean {
  return (l.includes('pass') && (l.includes('password') || l.includes('passwd'))) || l.includes('secret') || l.includes('auth') ||
    (l.includes('api') && (l.includes('api_key') || l.includes('api-key') || l.includes('apikey'))) ||
    (l.includes('private') && (l.includes('privatekey') || l.includes('private_key') || l.includes('private-key'))) ||
    l.includes('credentials') || l.includes('mysql_pwd') || l.includes('sentry_key');
}

/** A key whose value the password rule filters (lower-cased key). Keys containing "token" too (Relay's TOKEN_KEY_REGEX). */
export function isPasswordKey(lowerKey: string): boolean {
  return hasPasswordWord(lowerKey) || (lowerKey.length <= EXACT_MAX && PASSWORD_EXACT.has(lowerKey)) || lowerKey.includes('token');
}

/**
 * A value the password rule filters whole (Relay: the key pattern found in the value, e.g.
 * "password=hunter2", "Authorization: …", "access_token: …"): one of the words, the exact ones as the
 * whole value, or "token" followed by non-space characters up to a ':' or '='.
 */
export function isPasswordValue(lowerValue: string): boolean {
  return hasPasswordWord(lowerValue) || (lowerValue.length <= EXACT_MAX && PASSWORD_EXACT.has(lowerValue)) || hasTokenAssignment(lowerValue);
}

/** token[^\s]*[:=], scanned once: a failed scan ends at white space, which any later "token" before it reaches too. */
function hasTokenAssignment(s: string): boolean {
  let pos = 0;
  for (;;) {
    const t = s.indexOf('token', pos);
    if (t < 0) return false;
    let j = t + 5;
    for (; j < s.length; j++) {
      const c = s.charCodeAt(j);
      if (c === 58 || c === 61) return true;
      if (c === 32 || (c >= 9 && c <= 13)) break;
    }
    pos = j;
  }
}

/** One of the project's sensitive fields in `lower` (key or value). */
export function hasSensitiveField(lower: string, fields: readonly string[]): boolean {
  return fields.length > 0 && containsAny(lower, fields);
}

/** A key of a "key=value" inside text (messages, exception values) whose value is a secret. */
export function isSecretKeyInText(lowerKey: string): boolean {
  return isPasswordKey(lowerKey);
}
