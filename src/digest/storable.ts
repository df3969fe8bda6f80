// JSON items made storable before they are parsed. PostgreSQL's text cannot hold NUL, jsonb refuses
// the escape \u0000 ("unsupported Unicode escape sequence"), and a string with half of a surrogate
// pair (the escape \ud800 alone) comes back from a text column as U+FFFD, so a dimension value
// never matched its own row ("could not resolve dimension values") and jsonb refused it outright.
// Each of these failed the whole batch the event was in; an event is now stored with its NULs
// dropped and lone surrogate halves replaced by U+FFFD, as String.prototype.toWellFormed does.
// Raw bytes need nothing: invalid UTF-8 already decodes to U+FFFD. Only a text with such an escape
// is rewritten, by one regular expression; escapes are recognised only where their backslash is not
// itself escaped (an even number of backslashes before it: `pairs`).

const NEEDS_WORK = /\\u(0000|[dD][89a-fA-F])/;
const ESCAPE = /(?<!\\)((?:\\\\)*)(\\u[dD][89abAB][0-9a-fA-F]{2}\\u[dD][c-fC-F][0-9a-fA-F]{2}|\\u[dD][89a-fA-F][0-9a-fA-F]{2}|\\u0000)/g;

/** `json` with NUL escapes dropped and lone surrogate escapes replaced by \ufffd (surrogate pairs kept). */
export function storableJson(json: string): string {
  if (!NEEDS_WORK.test(json)) return json;
  return json.replace(ESCAPE, (_m, pairs: string, esc: string) => pairs + (esc.length === 12 ? esc : esc === '\\u0000' ? '' : '\\ufffd'));
}
