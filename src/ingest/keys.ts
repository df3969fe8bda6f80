import type pg from 'pg';
import type { KeyLimit } from '../ratelimit/limits.js';
import { Refusal } from './refusal.js';

// Project key lookups for the fast path, cached in memory so a steady stream of events costs no query
// per request. Entries live INGEST_KEY_CACHE_MS (default 10 s): a key disabled or deleted in the
// database stops working within that time, in this and every other process. Unknown keys are cached
// too (a misconfigured SDK retrying must not cost a query per request). Concurrent misses for the
// same key share one query. The map is bounded: past MAX_ENTRIES the oldest entry is dropped.

const MAX_ENTRIES = 10_000;

export interface ProjectAuth {
  projectId: number;
  rateLimitPerSec: number | null;
  /** The key's own rate limit (error events per window seconds), read by the same lookup; null = none. */
  keyLimit: KeyLimit | null;
}

interface Lookup {
  project_exists: boolean;
  project_disabled: boolean | null;
  rate_limit_per_sec: number | null;
  key_project_id: number | null;
  key_disabled: boolean | null;
  key_limit_count: number | null;
  key_limit_window: number | null;
}

const LOOKUP_SQL = `
  SELECT p.id IS NOT NULL AS project_exists, p.disabled AS project_disabled, p.rate_limit_per_sec,
         k.project_id AS key_project_id, k.disabled AS key_disabled,
         k.rate_limit_count AS key_limit_count, k.rate_limit_window AS key_limit_window
    FROM (SELECT 1) one
    LEFT JOIN project p ON p.id = $1
    LEFT JOIN project_key k ON k.public_key = $2`;

interface Entry {
  expires: number;
  value: Promise<Lookup>;
}

export class KeyCache {
  private entries = new Map<string, Entry>();

  constructor(
    private readonly pool: pg.Pool,
    private readonly ttlMs: number,
  ) {}

  private lookup(projectId: number, key: string): Promise<Lookup> {
    const id = `${projectId}\u0000${key}`;
    const now = Date.now();
    const hit = this.entries.get(id);
    if (hit && hit.expires > now) return hit.value;
    if (hit) this.entries.delete(id);
    const value = this.pool.query<Lookup>(LOOKUP_SQL, [projectId, key]).then((r) => r.rows[0]!);
    if (this.ttlMs > 0) {
      if (this.entries.size >= MAX_ENTRIES) this.entries.delete(this.entries.keys().next().value!);
      this.entries.set(id, { expires: now + this.ttlMs, value });
      // A failed lookup (database down) must not be remembered.
      value.catch(() => {
        if (this.entries.get(id)?.value === value) this.entries.delete(id);
      });
    }
    return value;
  }

  /**
   * Resolves the key for the project named in the URL, or throws the Refusal to answer:
   * unknown project 404, missing/unknown key 401, key of another project 403, disabled key or
   * project 403.
   */
  async authenticate(projectId: number, key: string): Promise<ProjectAuth> {
    const r = await this.lookup(projectId, key);
    if (!r.project_exists) throw new Refusal('not_found', `unknown project ${projectId}`, 'unknown_project');
    if (r.key_project_id === null) throw new Refusal('unauthorized', `unknown public key ${JSON.stringify(key)} (check the DSN)`, 'invalid_key');
    if (r.key_project_id !== projectId) throw new Refusal('forbidden', `the public key does not belong to project ${projectId}`, 'foreign_key');
    if (r.project_disabled) throw new Refusal('forbidden', `project ${projectId} is disabled`, 'disabled_project');
    if (r.key_disabled) throw new Refusal('forbidden', 'the public key is disabled', 'disabled_key');
    const keyLimit = r.key_limit_count && r.key_limit_window ? { key, count: r.key_limit_count, windowSecs: r.key_limit_window } : null;
    return { projectId, rateLimitPerSec: r.rate_limit_per_sec, keyLimit };
  }

  /** The project a key belongs to, or null for an unknown key (POST /api/store/ has no project id). */
  async projectOfKey(key: string): Promise<number | null> {
    const id = (await this.lookup(0, key)).key_project_id;
    return id === null ? null : Number(id);
  }

  /** Project existence only (a request without any key still gets 404 for an unknown project). */
  async projectExists(projectId: number): Promise<boolean> {
    return (await this.lookup(projectId, '')).project_exists;
  }

  clear(): void {
    this.entries.clear();
  }
}
