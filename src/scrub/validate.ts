import type { ScrubSettings } from './settings.js';

// A change to a project's data scrubbing settings, as PUT /api/0/projects/{org}/{project}/ and the
// web UI's form take it (Sentry's names and types), checked before it is stored: booleans for the
// switches, lists of strings for the fields, within SCRUB_MAX_FIELDS entries of SCRUB_MAX_FIELD_CHARS.

export interface FieldLimits {
  maxFields: number;
  maxFieldChars: number;
}

const BOOLEANS = ['dataScrubber', 'dataScrubberDefaults', 'scrubIPAddresses'] as const;
const LISTS = ['sensitiveFields', 'safeFields'] as const;

/** The scrubbing settings named in `body` (others left out), or the problem with them as a sentence. */
export function scrubChange(body: Record<string, unknown>, limits: FieldLimits): Partial<ScrubSettings> | string {
  const out: Partial<ScrubSettings> = {};
  for (const k of BOOLEANS) {
    const v = body[k];
    if (v === undefined) continue;
    if (typeof v !== 'boolean') return `${k} must be true or false`;
    out[k] = v;
  }
  for (const k of LISTS) {
    const v = body[k];
    if (v === undefined) continue;
    if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) return `${k} must be a list of strings`;
    const fields = [...new Set((v as string[]).map((x) => x.trim()).filter(Boolean))];
    if (fields.length > limits.maxFields) return `${k} has ${fields.length} entries; at most ${limits.maxFields} (SCRUB_MAX_FIELDS)`;
    const long = fields.find((f) => f.length > limits.maxFieldChars);
    if (long !== undefined) return `${k}: an entry is longer than ${limits.maxFieldChars} characters (SCRUB_MAX_FIELD_CHARS)`;
    out[k] = fields;
  }
  return out;
}

/** One field per line (the web UI's text areas). */
export function fieldLines(text: string): string[] {
  return text.split(/\r\n|\r|\n/).map((l) => l.trim()).filter(Boolean);
}
