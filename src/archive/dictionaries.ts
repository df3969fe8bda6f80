import { deflateRawSync } from 'node:zlib';
import { scrubbedSample } from '../scrub/sample.js';
import type pg from 'pg';
import type { Logger } from '../log.js';

// Archive dictionaries (migrations/0010): a payload is stored as raw deflate against a preset
// dictionary made of earlier payloads of the same project, SDK, endpoint and data category. SDKs
// send nearly the same bytes again and again, and deflate codes a repeat as a few long copies.
//
// Measured (Node 20, the bench mix's 28 templates ≤ 64 KB, each against another render of itself as
// dictionary, weighted as the mix): level 3 stores 139 bytes per payload in ~23–35 µs; level 1
// 221 bytes in ~32–54 µs; level 6 106 bytes in ~38–72 µs; brotli quality 1 without dictionary (what
// ingest stored before) 1,960 bytes in ~40–56 µs. Levels 1–3 are zlib's greedy matcher, which with
// long matches against the dictionary does less work at 3 than at 1; the ~30 bytes level 6 saves are
// small beside the ~450 bytes of an archive row's own overhead. Inflating costs ~12–37 µs (brotli
// ~150). So: level 3.
//
// A dictionary is at most 32 KB: deflate's window, bytes further back are never referenced. It is
// the first payload seen for its key; when payloads of the key stop fitting it (a quarter of the
// recent ones compress to more than a tenth of their size), it is replaced by its own last bytes
// followed by the payload that missed, so it keeps what still fits and learns the new shape. A
// replacement that does not help doubles the wait before the next one (16 … 4,096 payloads), so a
// key whose payloads never fit (binary dumps) costs at most one 32 KB row per 4,096 payloads.
// Simulated on 4,000 requests of the bench mix (29 templates, 15 keys: one SDK name stands for eight
// platforms there), stored bytes per payload: tail + missed payload, 32 KB: 570; 16 KB: 692; the
// missed payload alone: 999; brotli before: 2,040. A larger dictionary costs CPU (zlib hashes every
// position of it: one 8.9 KB payload against 8.9 KB ~40 µs, against 32 KB ~74 µs), but on the
// simulated mix 16 and 32 KB cost the same within noise.
//
// Dictionaries are inserted by their own committed statement before any archive row refers to them
// (the request that creates one waits for it; requests of the same key meanwhile wait for the same
// insert, once per key and process). Several ingest processes each make their own: no coordination.
//
// A process uses a dictionary for DICT_LEASE_MS after inserting it, then inserts its bytes again as
// a new row and uses that (one insert per key and day). So every archive row that refers to a
// dictionary was received before `created_at + DICT_LEASE_MS` plus the longest a commit can wait,
// and retention (src/archive/retention/kinds.ts, `dictionaries`) deletes a dictionary once no
// archive row of its project was received before `created_at + DICT_RETIRE_MS`: no row can use it
// then, and none will, without an index on archive.dict_id (~30 bytes per payload) or coordination
// between processes. Dictionaries of deleted payloads otherwise stayed for ever: a key's dictionary
// is replaced as often as every 16 payloads, 32 KB each.
// Bounded: MAX_ENTRIES keys per process of ≤ 32 KB each, ≤ 8 MiB; past that the oldest key is
// dropped (it gets a fresh dictionary when it comes back).

export const DICT_LEVEL = 3;
export const DICT_MAX_BYTES = 32 * 1024;
/** Payloads larger than this are stored as before: a dictionary saves at most its 32 KB window. */
export const DICT_MAX_INPUT = 64 * 1024;
const MAX_ENTRIES = 256;
/** A payload fits its dictionary when it compresses to at most 1/MISS_RATIO of its size. */
const MISS_RATIO = 10;
/** Weight of the newest payload in the share of misses (an exponential moving average). */
const ALPHA = 1 / 8;
const REPLACE_AT = 0.25;
const MIN_GAP = 16;
const MAX_GAP = 4096;
/** After a failed dictionary insert (database down), payloads of the key go without one this long. */
const RETRY_MS = 10_000;
/** How long a process uses a dictionary it inserted (see above). */
export const DICT_LEASE_MS = 24 * 3_600_000;
/** How long after its `created_at` retention may delete a dictionary no row received before then uses: the lease plus an hour for commits in flight and clock skew. */
export const DICT_RETIRE_MS = DICT_LEASE_MS + 3_600_000;

export interface Dictionary {
  id: number;
  bytes: Buffer;
}

interface Entry {
  current: Dictionary | null;
  /** The insert of `current`'s successor (or of the first dictionary), while it runs. */
  pending: Promise<Dictionary | null> | null;
  failedUntil: number;
  /** Share of recent payloads that did not fit (moving average). */
  missShare: number;
  /** Payloads compressed since `current` was made. */
  uses: number;
  /** Payloads to wait after a replacement before the next one. */
  gap: number;
  /** The miss share when `current` replaced its predecessor (NaN for a first dictionary). */
  replacedAt: number;
  /** Date.now() when `current` was committed: it is used until DICT_LEASE_MS later. */
  madeAt: number;
}

export interface DictCompressed {
  dict: Dictionary;
  stored: Buffer;
}

export class ArchiveDictionaries {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly pool: pg.Pool,
    private readonly log: Logger,
    private readonly maxEntries = MAX_ENTRIES,
  ) {}

  /** The dictionary key of a payload: project, endpoint kind, SDK name (without version), data category. */
  static key(projectId: number, kind: string, client: string | null | undefined, category: string): string {
    const c = client ?? '';
    const slash = c.indexOf('/');
    return `${projectId}\n${kind}\n${(slash < 0 ? c : c.slice(0, slash)).slice(0, 100)}\n${category}`;
  }

  /**
   * `raw` (at most DICT_MAX_INPUT bytes) compressed against the key's dictionary — at once when the
   * key has a committed one; otherwise a promise that first makes one from `raw` (null when that
   * insert failed: store the payload without a dictionary).
   */
  compress(projectId: number, key: string, raw: Buffer): DictCompressed | Promise<DictCompressed | null> | null {
    let e = this.entries.get(key);
    if (!e) {
      if (this.entries.size >= this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
      e = { current: null, pending: null, failedUntil: 0, missShare: 0, uses: 0, gap: MIN_GAP, replacedAt: NaN, madeAt: 0 };
      this.entries.set(key, e);
    }
    const now = Date.now();
    if (e.current && now - e.madeAt < DICT_LEASE_MS) return this.deflate(e, projectId, e.current, raw);
    if (!e.pending) {
      if (now < e.failedUntil) return null;
      // Past its lease the same bytes go in again as a new row; a first one is made of the payload as
      // data scrubbing leaves it (src/scrub/sample.ts): the dictionary outlives the digest's scrubbing.
      const bytes = e.current ? e.current.bytes : scrubbedSample(raw).subarray(0, DICT_MAX_BYTES);
      e.current = null;
      e.pending = this.insert(e, projectId, bytes);
    }
    const entry = e;
    return e.pending.then((d) => (d ? this.deflate(entry, projectId, d, raw) : null));
  }

  private deflate(e: Entry, projectId: number, dict: Dictionary, raw: Buffer): DictCompressed {
    const stored = deflateRawSync(raw, { dictionary: dict.bytes, level: DICT_LEVEL });
    this.observe(e, projectId, raw, stored.length);
    return { dict, stored };
  }

  /** Counts a payload as fitting or not, and starts a replacement dictionary when too many miss. */
  private observe(e: Entry, projectId: number, raw: Buffer, size: number): void {
    const miss = size * MISS_RATIO > raw.length ? 1 : 0;
    e.missShare += (miss - e.missShare) * ALPHA;
    e.uses++;
    if (!miss || e.pending || e.uses < e.gap || e.missShare < REPLACE_AT || Date.now() < e.failedUntil) return;
    // The last replacement did not lower the miss share: wait longer before the next one.
    e.gap = e.missShare >= e.replacedAt ? Math.min(MAX_GAP, e.gap * 2) : MIN_GAP;
    const old = e.current!.bytes;
    raw = scrubbedSample(raw);
    const bytes = raw.length >= DICT_MAX_BYTES ? raw.subarray(0, DICT_MAX_BYTES) : Buffer.concat([old.subarray(Math.max(0, old.length - (DICT_MAX_BYTES - raw.length))), raw]);
    const replacedAt = e.missShare;
    // Not awaited: payloads keep using the current dictionary until the new one is committed.
    e.pending = this.insert(e, projectId, bytes);
    void e.pending.then((d) => {
      if (d) e.replacedAt = replacedAt;
    });
  }

  /** Inserts and commits a dictionary; on success it becomes the entry's current one. Never rejects. */
  private async insert(e: Entry, projectId: number, bytes: Buffer): Promise<Dictionary | null> {
    // A copy: `bytes` may be a view of a request body, which must not be kept alive by the cache.
    const own = Buffer.from(bytes);
    try {
      const { rows } = await this.pool.query<{ id: string }>({ name: 'archive-dict-insert', text: 'INSERT INTO archive_dict (project_id, bytes) VALUES ($1, $2) RETURNING id', values: [projectId, own] });
      const dict = { id: Number(rows[0]!.id), bytes: own };
      e.current = dict;
      e.madeAt = Date.now();
      e.uses = 0;
      e.missShare = 0;
      return dict;
    } catch (err) {
      e.failedUntil = Date.now() + RETRY_MS;
      this.log.warn('archive dictionary insert failed; storing payloads without it for now', { error: String((err as Error)?.message ?? err) });
      return null;
    } finally {
      e.pending = null;
    }
  }

  /** Keys remembered (tests check the bound). */
  get size(): number {
    return this.entries.size;
  }
}

/**
 * Deletes, per project, at most `limit` dictionaries past DICT_RETIRE_MS that no archive row can use
 * any more: none of the project's rows was received before `created_at + DICT_RETIRE_MS` (the
 * archive's (project_id, received_at) index: one probe per dictionary). Conservative: a dictionary
 * stays while any older row does, used or not. Returns the rows deleted per project.
 */
export async function retireDictionaries(client: pg.ClientBase, limit: number): Promise<Map<number, number>> {
  const { rows } = await client.query<{ project_id: string; n: number }>({
    name: 'archive-dict-retire',
    text: `WITH d AS (
      DELETE FROM archive_dict x WHERE (x.project_id, x.id) IN (
        SELECT d.project_id, d.id FROM archive_dict d
         WHERE d.created_at < now() - make_interval(secs => $1::int)
           AND NOT EXISTS (SELECT 1 FROM archive a WHERE a.project_id = d.project_id AND a.received_at < d.created_at + make_interval(secs => $1::int))
         LIMIT $2)
      RETURNING x.project_id)
    SELECT project_id, count(*)::int AS n FROM d GROUP BY 1`,
    values: [DICT_RETIRE_MS / 1000, limit] });
  return new Map(rows.map((r) => [Number(r.project_id), r.n]));
}

