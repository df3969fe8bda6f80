import type pg from 'pg';
import { numArray, textArray } from '../storage/pg-array.js';

// Insert-or-get of dimension values, batched: one statement per table per digest batch for the
// values not yet in the in-process cache. Concurrent workers may insert the same value: ON
// CONFLICT DO NOTHING, then the rows our statement could not see (inserted by a transaction that
// committed after our snapshot) are read again. Rows are inserted in sorted order so two workers
// never wait on each other's unique-index entries in opposite orders.

/** Entries kept per cache before it is cleared (≈ 100 bytes each → ~10 MB at most). */
const MAX_CACHE = 100_000;

export const clean = (s: string): string => (s.includes('\0') ? s.replace(/\0/g, '') : s);

const SEP = '\u0001';

export class DimCache {
  private map = new Map<string, number>();
  generation = -1;
  get(k: string): number | undefined {
    return this.map.get(k);
  }
  set(k: string, v: number): void {
    if (this.map.size >= MAX_CACHE) this.map.clear();
    this.map.set(k, v);
  }
  clear(): void {
    this.map.clear();
  }
}

/** Collects the values one batch needs, then resolves them all with ≤ 3 statements (+ re-reads). */
export class DimRequest {
  private global = new Map<string, [string, string]>();
  private project = new Map<string, [number, string, string]>();
  private tags = new Map<string, [number, string, string]>();
  /** Ids for this batch. They enter the shared cache only after the batch commits (commit()): an
   * id inserted by a transaction that rolls back must never be remembered. */
  private local = new Map<string, number>();
  private readonly generation: number;
  constructor(private cache: DimCache) {
    this.generation = cache.generation;
  }

  private known(k: string): boolean {
    if (this.local.has(k)) return true;
    const c = this.cache.get(k);
    if (c === undefined) return false;
    this.local.set(k, c);
    return true;
  }

  /** After COMMIT: remember this batch's ids (unless ruminate rebuilt the tables meanwhile). */
  commit(): void {
    if (this.cache.generation !== this.generation) return;
    for (const [k, v] of this.local) this.cache.set(k, v);
  }

  static gkey(kind: string, value: string): string {
    return `g${SEP}${kind}${SEP}${value}`;
  }
  static pkey(pid: number, kind: string, value: string): string {
    return `p${SEP}${pid}${SEP}${kind}${SEP}${value}`;
  }
  static tkey(pid: number, key: string, value: string): string {
    return `t${SEP}${pid}${SEP}${key}${SEP}${value}`;
  }

  // The values a batch needs, each registered once and numbered ("references"), so that storing
  // reads ids from an array instead of building and hashing a key string per event and column. Scopes are
  // nested maps (project → kind or tag key → value), so a value the batch has already seen costs
  // lookups but no string building. (Bench mix: ~35 values per event, each looked up 3 times by
  // key string before: ~14 µs of the main thread per event.)
  private refKeys: string[] = [];
  private refIds: (number | null)[] | null = null;
  private dimScopes = new Map<number, Map<string, Map<string, number>>>();
  private tagScopes = new Map<number, Map<string, Map<string, number>>>();

  // `what` says which key and table a new value gets (0 global, 1 project, 2 tag): a number, not two
  // closures per call, which made ~4 KB of garbage per event (35 values) on the main thread.
  private ref(scopes: Map<number, Map<string, Map<string, number>>>, what: 0 | 1 | 2, pid: number, scope: string, value: string): number {
    let byScope = scopes.get(pid);
    if (!byScope) scopes.set(pid, (byScope = new Map()));
    let byValue = byScope.get(scope);
    if (!byValue) byScope.set(scope, (byValue = new Map()));
    let r = byValue.get(value);
    if (r === undefined) {
      const k = what === 0 ? DimRequest.gkey(scope, value) : what === 1 ? DimRequest.pkey(pid, scope, value) : DimRequest.tkey(pid, scope, value);
      r = this.refKeys.push(k) - 1;
      byValue.set(value, r);
      if (!this.known(k)) {
        if (what === 0) this.global.set(k, [scope, value]);
        else if (what === 1) this.project.set(k, [pid, scope, value]);
        else this.tags.set(k, [pid, scope, value]);
      }
    }
    return r;
  }
  /** A global dimension value's reference (-1 for null). */
  refGlobal(kind: string, value: string | null): number {
    return value === null ? -1 : this.ref(this.dimScopes, 0, 0, kind, value);
  }
  refProject(pid: number, kind: string, value: string | null): number {
    return value === null ? -1 : this.ref(this.dimScopes, 1, pid, kind, value);
  }
  refTag(pid: number, key: string, value: string): number {
    return this.ref(this.tagScopes, 2, pid, key, value);
  }
  /** The id of a reference, once resolve() has run (null for -1). */
  idOf(ref: number): number | null {
    if (ref < 0) return null;
    if (!this.refIds) this.refIds = this.refKeys.map((k) => this.local.get(k) ?? null);
    return this.refIds[ref] ?? null;
  }

  async resolve(client: pg.ClientBase): Promise<void> {
    this.refIds = null;
    if (this.global.size) {
      const rows = [...this.global.values()].sort((a, b) => cmp(a[0], b[0]) || cmp(a[1], b[1]));
      await this.run(client, 'digest-dim', rows, (r) => DimRequest.gkey(r[0], r[1]),
        `WITH v AS (SELECT * FROM unnest($1::text[], $2::text[]) AS v(kind, value)),
              ins AS (INSERT INTO dim (kind, value) SELECT kind, value FROM v ON CONFLICT DO NOTHING RETURNING id, kind, value)
         SELECT id, kind, value FROM ins UNION ALL SELECT d.id, d.kind, d.value FROM dim d JOIN v USING (kind, value)`,
        (rs) => [textArray(rs.map((r) => r[0])), textArray(rs.map((r) => r[1]))],
        (row) => DimRequest.gkey(row.kind, row.value));
    }
    if (this.project.size) {
      const rows = [...this.project.values()].sort((a, b) => a[0] - b[0] || cmp(a[1], b[1]) || cmp(a[2], b[2]));
      await this.run(client, 'digest-project-dim', rows, (r) => DimRequest.pkey(r[0], r[1], r[2]),
        `WITH v AS (SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[]) AS v(project_id, kind, value)),
              ins AS (INSERT INTO project_dim (project_id, kind, value) SELECT project_id, kind, value FROM v ON CONFLICT DO NOTHING RETURNING project_id, id, kind, value)
         SELECT project_id, id, kind, value FROM ins
         UNION ALL SELECT d.project_id, d.id, d.kind, d.value FROM project_dim d JOIN v USING (project_id, kind, value)`,
        (rs) => [numArray(rs.map((r) => r[0])), textArray(rs.map((r) => r[1])), textArray(rs.map((r) => r[2]))],
        (row) => DimRequest.pkey(row.project_id, row.kind, row.value));
    }
    if (this.tags.size) {
      const rows = [...this.tags.values()].sort((a, b) => a[0] - b[0] || cmp(a[1], b[1]) || cmp(a[2], b[2]));
      await this.run(client, 'digest-tag-value', rows, (r) => DimRequest.tkey(r[0], r[1], r[2]),
        `WITH v AS (SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[]) AS v(project_id, key, value)),
              ins AS (INSERT INTO tag_value (project_id, key, value) SELECT project_id, key, value FROM v ON CONFLICT DO NOTHING RETURNING project_id, id, key, value)
         SELECT project_id, id, key AS kind, value FROM ins
         UNION ALL SELECT t.project_id, t.id, t.key AS kind, t.value FROM tag_value t JOIN v USING (project_id, key, value)`,
        (rs) => [numArray(rs.map((r) => r[0])), textArray(rs.map((r) => r[1])), textArray(rs.map((r) => r[2]))],
        (row) => DimRequest.tkey(row.project_id, row.kind, row.value));
    }
  }

  /** One of the three statements above, named (prepared once per connection: ~150–270 µs less PostgreSQL CPU each, measured with 30 values). */
  private async run<R>(client: pg.ClientBase, name: string, rows: R[], keyOf: (r: R) => string, sql: string, params: (rs: R[]) => unknown[], rowKey: (row: { id: number; project_id: number; kind: string; value: string }) => string): Promise<void> {
    let todo = rows;
    // A value inserted by another transaction that committed after this statement's snapshot is
    // neither returned by our INSERT nor visible to our SELECT: the next statement sees it.
    for (let attempt = 0; todo.length && attempt < 5; attempt++) {
      const { rows: got } = await client.query({ name, text: sql, values: params(todo) });
      for (const g of got) this.local.set(rowKey(g), g.id);
      todo = todo.filter((r) => !this.local.has(keyOf(r)));
    }
    if (todo.length) throw new Error(`could not resolve ${todo.length} dimension values`);
  }

  id(key: string): number | null {
    return this.local.get(key) ?? null;
  }
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
