// A project's data scrubbing settings, named as Sentry's project API names them (dataScrubber,
// dataScrubberDefaults, sensitiveFields, safeFields, scrubIPAddresses), and the form the scrubber
// uses. Defaults are Sentry's: scrubbing on, with the default rules, IP addresses kept.

export interface ScrubSettings {
  /** Scrub at all (sensitive fields, and the default rules when dataScrubberDefaults). */
  dataScrubber: boolean;
  /** Apply the default rules (passwords, secrets, tokens, cookies, card numbers, keys…). */
  dataScrubberDefaults: boolean;
  /** More key names to filter (a key containing one, case-insensitive; also a value containing one). */
  sensitiveFields: string[];
  /** Key names whose values (and everything inside them) are never scrubbed, except the known IP fields. */
  safeFields: string[];
  /** Remove user.ip_address, request.env.REMOTE_ADDR and sdk.client_ip, and replace IP addresses in text by [ip]. */
  scrubIPAddresses: boolean;
}

export const DEFAULT_SCRUB: Readonly<ScrubSettings> = Object.freeze({
  dataScrubber: true, dataScrubberDefaults: true, sensitiveFields: [], safeFields: [], scrubIPAddresses: false,
});

/** What the prepare threads get: each project's settings when not the defaults, and the depth limit. */
export interface ScrubPlan {
  /** SCRUB_MAX_DEPTH */
  maxDepth: number;
  projects: Record<number, ScrubSettings>;
}

/** What the rules say of a key wherever it is (its parent's rules apart: src/scrub/event.ts keyRule). */
export interface KeyVerdict {
  /** The key lower-cased. */
  lk: string;
  /** One of the project's safe fields: its value is never scrubbed. */
  safe: boolean;
  /** The rule that filters its value: '@password:filter', 'strip-fields' or null. */
  rule: string | null;
}

export interface CompiledScrub {
  data: boolean;
  defaults: boolean;
  ip: boolean;
  sensitive: string[];
  safe: Set<string>;
  maxDepth: number;
  /** Verdicts of keys seen so far under these settings (src/scrub/event.ts keyVerdict). */
  keys: Map<string, KeyVerdict>;
}

export function compileScrub(s: ScrubSettings, maxDepth: number): CompiledScrub {
  const norm = (l: string[]) => [...new Set(l.map((f) => f.trim().toLowerCase()).filter(Boolean))];
  return {
    data: s.dataScrubber,
    defaults: s.dataScrubber && s.dataScrubberDefaults,
    ip: s.scrubIPAddresses,
    sensitive: s.dataScrubber ? norm(s.sensitiveFields) : [],
    safe: new Set(norm(s.safeFields)),
    maxDepth,
    keys: new Map(),
  };
}

/** Whether the settings scrub anything at all (nothing to walk otherwise). */
export function scrubsAnything(c: CompiledScrub): boolean {
  return c.data || c.ip;
}
