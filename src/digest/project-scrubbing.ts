import type pg from 'pg';
import { DEFAULT_SCRUB, type ScrubSettings } from '../scrub/settings.js';

// Each project's data scrubbing settings (migrations/0020_project_scrubbing.sql) for the digest,
// read for the projects of a batch and kept for SETTINGS_TTL_MS, as project-rules.ts keeps grouping
// rules: a batch costs no extra statement unless a project's settings are older than that, and a
// change made through the API or the web UI applies within that time.

const SETTINGS_TTL_MS = 5000;
/** Projects remembered. */
const MAX_PROJECTS = 1000;

interface Row {
  id: string;
  data_scrubber: boolean;
  data_scrubber_defaults: boolean;
  sensitive_fields: string[];
  safe_fields: string[];
  scrub_ip_addresses: boolean;
}

const cache = new Map<number, { at: number; settings: ScrubSettings | null }>();

function isDefault(s: ScrubSettings): boolean {
  return s.dataScrubber === DEFAULT_SCRUB.dataScrubber && s.dataScrubberDefaults === DEFAULT_SCRUB.dataScrubberDefaults &&
    s.scrubIPAddresses === DEFAULT_SCRUB.scrubIPAddresses && !s.sensitiveFields.length && !s.safeFields.length;
}

/** Settings of each project whose settings are not the defaults (the others scrub with DEFAULT_SCRUB). */
export async function projectScrubbing(client: pg.Pool | pg.ClientBase, projectIds: number[], now = Date.now()): Promise<Record<number, ScrubSettings>> {
  const stale = projectIds.filter((id) => (cache.get(id)?.at ?? -Infinity) < now - SETTINGS_TTL_MS);
  if (stale.length) {
    const { rows } = await client.query<Row>({
      name: 'digest-project-scrubbing',
      text: `SELECT id, data_scrubber, data_scrubber_defaults, sensitive_fields, safe_fields, scrub_ip_addresses
               FROM project WHERE id = ANY($1::bigint[])`,
      values: [`{${stale.join(',')}}`] });
    if (cache.size + stale.length > MAX_PROJECTS) cache.clear();
    for (const id of stale) cache.set(id, { at: now, settings: null });
    for (const r of rows) {
      const s = scrubSettingsOf(r);
      if (!isDefault(s)) cache.set(Number(r.id), { at: now, settings: s });
    }
  }
  const out: Record<number, ScrubSettings> = {};
  for (const id of projectIds) {
    const s = cache.get(id)?.settings;
    if (s) out[id] = s;
  }
  return out;
}

/** A project row's columns as the API names them. */
export function scrubSettingsOf(r: Omit<Row, 'id'>): ScrubSettings {
  return {
    dataScrubber: r.data_scrubber,
    dataScrubberDefaults: r.data_scrubber_defaults,
    sensitiveFields: r.sensitive_fields ?? [],
    safeFields: r.safe_fields ?? [],
    scrubIPAddresses: r.scrub_ip_addresses,
  };
}

/** For tests: forget what was read. */
export function forgetProjectScrubbing(): void {
  cache.clear();
}
