import { parseRule } from './enhancers.js';
import { parseFingerprintRules } from './fingerprint.js';
import { globLimitError } from './glob.js';
import type { GroupingOptions } from './index.js';

// Checks a project's grouping rules before they are stored: the engine skips nothing silently at
// digest time (an unparseable fingerprint rule text would send every event to the fallback group),
// so a bad line is refused when it is written, with its line number.

/** Longest rule text accepted per field (Sentry allows ~64 KB; a few hundred rules). */
export const MAX_RULES_CHARS = 64 * 1024;

/** Null when both rule texts parse; else what is wrong, naming the field and the line. */
export function groupingOptionsError(o: GroupingOptions): string | null {
  for (const [field, text] of [['groupingEnhancements', o.enhancements], ['fingerprintingRules', o.fingerprintingRules]] as const) {
    if (text && text.length > MAX_RULES_CHARS) return `${field} is longer than ${MAX_RULES_CHARS} characters`;
  }
  if (o.enhancements) {
    const lines = o.enhancements.split(/\r\n|\r|\n/);
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i]!.replace(/(^|\s)#.*$/, '').trim();
      if (!line) continue;
      let rule;
      try {
        rule = parseRule(line);
      } catch (e) {
        return `groupingEnhancements line ${i + 1}: ${(e as Error).message}`;
      }
      for (const { m } of rule.matchers) {
        const err = m.key === 'family' || m.key === 'app' ? null : globLimitError(m.pattern);
        if (err) return `groupingEnhancements line ${i + 1}: ${m.key}: ${err} (GLOB_LIMITS in src/grouping/glob.ts)`;
      }
    }
  }
  const fp = o.fingerprintingRules?.trim() ?? '';
  if (fp.startsWith('[') || fp.startsWith('{')) {
    let data: unknown;
    try {
      data = JSON.parse(fp);
    } catch (e) {
      return `fingerprintingRules: not valid JSON: ${(e as Error).message}`;
    }
    const shapeError = jsonRulesError(data);
    if (shapeError) return shapeError;
    for (const rule of parseFingerprintRules(fp)) {
      const err = fingerprintGlobError(rule.matchers);
      if (err) return `fingerprintingRules: ${err}`;
    }
  } else if (fp) {
    // The rule parser skips lines it cannot read (as the digest must); here each line must be a rule.
    const lines = o.fingerprintingRules!.split(/\r\n|\r|\n/);
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i]!.replace(/(^|\s)#.*$/, '').trim();
      if (!line) continue;
      const rules = parseFingerprintRules(line);
      const err = rules.length === 1 ? fingerprintGlobError(rules[0]!.matchers) : null;
      if (err) return `fingerprintingRules line ${i + 1}: ${err}`;
      if (rules.length !== 1) return `fingerprintingRules line ${i + 1}: expected "matcher:value ... -> fingerprint" (e.g. error.type:DatabaseError -> database), got ${JSON.stringify(line.slice(0, 100))}`;
    }
  }
  return null;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const strings = (v: unknown): boolean => Array.isArray(v) && v.every((x) => typeof x === 'string');

/** A JSON rule list (Sentry's export: a list, or `{"rules": [...]}`) must have exactly the shapes the
 * engine reads: a `text` that is an object, say, made every event of the project fail grouping. */
function jsonRulesError(data: unknown): string | null {
  const list = Array.isArray(data) ? data : isObject(data) && Array.isArray(data.rules) ? data.rules : null;
  if (!list) return 'fingerprintingRules: a JSON value must be a list of rules or {"rules": [...]}';
  for (let i = 0; i < list.length; i++) {
    const r: unknown = list[i];
    const bad = (what: string) => `fingerprintingRules rule ${i + 1}: ${what}`;
    if (!isObject(r)) return bad('must be an object');
    if (!Array.isArray(r.matchers) || !r.matchers.length || !r.matchers.every((m) => Array.isArray(m) && typeof m[0] === 'string' && typeof m[1] === 'string')) {
      return bad('"matchers" must be a non-empty list of [key, pattern] string pairs');
    }
    if (!strings(r.fingerprint) || !(r.fingerprint as string[]).length) return bad('"fingerprint" must be a non-empty list of strings');
    if (r.attributes !== undefined && r.attributes !== null && !(isObject(r.attributes) && Object.values(r.attributes).every((v) => typeof v === 'string'))) {
      return bad('"attributes" must be an object of strings');
    }
    if (r.text !== undefined && r.text !== null && typeof r.text !== 'string') return bad('"text" must be a string');
    if (r.is_builtin !== undefined && typeof r.is_builtin !== 'boolean') return bad('"is_builtin" must be a boolean');
  }
  return null;
}

/** Every fingerprint matcher is a glob but `family`/`sdk` (comma lists) and the booleans. */
function fingerprintGlobError(matchers: Array<{ key: string; pattern: string }>): string | null {
  for (const m of matchers) {
    if (['family', 'sdk', 'app', 'thread_crashed', 'thread_current'].includes(m.key)) continue;
    const err = globLimitError(m.pattern);
    if (err) return `${m.key}: ${err} (GLOB_LIMITS in src/grouping/glob.ts)`;
  }
  return null;
}
