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
    try {
      JSON.parse(fp);
    } catch (e) {
      return `fingerprintingRules: not valid JSON: ${(e as Error).message}`;
    }
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

/** Every fingerprint matcher is a glob but `family`/`sdk` (comma lists) and the booleans. */
function fingerprintGlobError(matchers: Array<{ key: string; pattern: string }>): string | null {
  for (const m of matchers) {
    if (['family', 'sdk', 'app', 'thread_crashed', 'thread_current'].includes(m.key)) continue;
    const err = globLimitError(m.pattern);
    if (err) return `${m.key}: ${err} (GLOB_LIMITS in src/grouping/glob.ts)`;
  }
  return null;
}
