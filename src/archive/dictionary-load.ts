import type pg from 'pg';
import type { ArchiveRow } from './row.js';

// Dictionaries of 'deflate-dict' payloads (migrations/0010, dictionaries.ts) for the
// digest. A batch's rows are decoded in a worker thread, so each row carries its dictionary's bytes
// (a thread is sent each dictionary once and keeps it: prepare-message.ts). Dictionaries never
// change, so a per-process cache needs no invalidation:
// MAX_ENTRIES of ≤ 32 KB, ≤ 8 MiB; when full it is emptied (an ingest process keeps one per key and
// replaces it rarely, so a batch needs a handful).

const MAX_ENTRIES = 256;
const cache = new Map<number, Buffer>();

/**
 * Sets `dict` on every row with a `dict_id`, loading the ones not cached with one query. A dictionary
 * that is not in the table leaves `dict` unset: decoding that payload then fails with its reason.
 */
export async function attachDictionaries(client: pg.ClientBase | pg.Pool, rows: ArchiveRow[]): Promise<void> {
  // This batch's dictionaries, held here whatever happens to the cache below: emptying a full cache
  // must not take away those the batch found in it (it did, and their payloads went to queue_error
  // as "its dictionary was not loaded" once a worker had seen more than MAX_ENTRIES dictionaries).
  const mine = new Map<number, Buffer>();
  const missing = new Map<number, number>(); // id → project_id
  for (const r of rows) {
    if (r.dict_id == null || mine.has(r.dict_id)) continue;
    const c = cache.get(r.dict_id);
    if (c) mine.set(r.dict_id, c);
    else missing.set(r.dict_id, r.project_id);
  }
  if (missing.size) {
    const { rows: found } = await client.query<{ id: number; bytes: Buffer }>({
      name: 'archive-dict-load',
      text: `SELECT d.id, d.bytes FROM unnest($1::bigint[], $2::bigint[]) AS k(project_id, id)
               JOIN archive_dict d ON d.project_id = k.project_id AND d.id = k.id`,
      values: [`{${[...missing.values()].join(',')}}`, `{${[...missing.keys()].join(',')}}`],
    });
    if (cache.size + found.length > MAX_ENTRIES) cache.clear();
    for (const d of found) {
      cache.set(Number(d.id), d.bytes);
      mine.set(Number(d.id), d.bytes);
    }
  }
  for (const r of rows) if (r.dict_id != null) r.dict = mine.get(r.dict_id) ?? null;
}
