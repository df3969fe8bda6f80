import type pg from 'pg';
import { computeGrouping } from '../grouping/index.js';
import { normalizeEvent } from '../protocol/event.js';
import { groupingExplanationJson, type DigestGrouping } from './group.js';
import { optionsOf, projectRules } from './project-rules.js';
import { readArchiveRow } from '../archive/read.js';
import { fallbackEventId, parsePayload } from './payload.js';
import { sharedSymbolicator } from '../sourcemaps/shared.js';

// The grouping explanation of an event whose grouping came from the digest's cache (group.ts keeps
// hashes, not component trees) but whose issue must now be created: rebuilt from the archived
// payload inside the batch transaction, exactly as prepare saw it. Rare (a repeat racing the
// batch that saw its group first, or a deleted issue), so its cost (one read + one grouping) is
// not worth avoiding.

/** Largest payload rebuilt here (the envelope limit's default, 100 MiB). */
const MAX_BYTES = 100 * 1024 * 1024;

export async function explainFromArchive(client: pg.ClientBase, projectId: number, archiveId: number, itemIndex: number, g: DigestGrouping): Promise<string> {
  const fallback = () => JSON.stringify({ config: g.config, primary_hash: g.primaryHash, hashes: g.hashes, variants: {} });
  const row = await readArchiveRow(client, projectId, archiveId);
  if (!row) return fallback();
  try {
    const parsed = parsePayload(row, MAX_BYTES);
    const item = parsed.items.find((i) => i.index === itemIndex);
    if (!item || item.json === undefined) return fallback();
    const ev = normalizeEvent(item.json, { receivedAt: row.received_at, eventId: parsed.eventId, fallbackId: fallbackEventId(row, itemIndex), skipBreadcrumbs: true });
    await sharedSymbolicator().symbolicate(client, [{ projectId, ev }]);
    return groupingExplanationJson(computeGrouping(ev, optionsOf((await projectRules(client, [projectId]))[projectId])));
  } catch {
    return fallback();
  }
}
