import { performance } from 'node:perf_hooks';
import { apiGet, createToken, isMissingRoute, ORG } from './api.js';
import { percentile, round, type BenchContext } from './context.js';
import { countRows, health, type BenchDb } from './db.js';
import { runLoad } from './load.js';
import { sampleMemory, startCrashCache, type MemoryPeak } from './procs.js';

// Query: the issue list (GET /api/0/projects/{org}/{project}/issues/) over `queryEvents` events in
// `queryIssues` issues. The issues and their first events come through the real path (ingest +
// digest); the bulk of the events is then made in SQL by copying those report rows with fresh event
// ids and timestamps spread over the last 14 days, and the issues' counters and first/last seen are
// recomputed from the reports — the rows the digest would have written for the same events, without
// waiting minutes for it. (The copies point at the originals' archive rows; the list never reads
// the archive.) Requests go one at a time, as a person paging through the list.

export interface QueryVariant {
  name: string;
  path: string;
  p50Ms: number;
  p95Ms: number;
  maxMs: number;
  /** the first non-200 answer, when the API refused this variant */
  error?: string;
}

export interface QueryResult {
  events: number;
  issues: number;
  requests: number;
  variants: QueryVariant[];
  /** set when the issue-list route does not exist yet */
  missing?: string;
  seedSeconds: number;
  memory: MemoryPeak;
}

async function waitDrained(port: number): Promise<void> {
  const t0 = performance.now();
  for (;;) {
    const h = await health(port);
    if (h.queued === 0) return;
    if (performance.now() - t0 > 600_000) throw new Error(`query: queue not drained after 600 s (${h.queued} left)`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function multiply(db: BenchDb, target: number): Promise<void> {
  const { rows: cols } = await db.pool.query<{ column_name: string }>(
    `SELECT column_name FROM information_schema.columns
      WHERE table_schema = 'public' AND table_name = 'report' AND column_name NOT IN ('id', 'event_id', 'timestamp', 'received_at')
      ORDER BY ordinal_position`,
  );
  const list = cols.map((c) => `"${c.column_name}"`).join(', ');
  const have = await countRows(db, 'report');
  const copies = Math.max(0, Math.ceil((target - have) / have));
  // in slices of ~100k rows so that no single statement runs for minutes
  const perSlice = Math.max(1, Math.floor(100_000 / have));
  const originals = (await db.pool.query<{ m: number }>('SELECT max(id)::int8 AS m FROM report')).rows[0]!.m;
  for (let done = 0; done < copies; done += perSlice) {
    const n = Math.min(perSlice, copies - done);
    await db.pool.query(
      `INSERT INTO report (${list}, event_id, timestamp, received_at)
       SELECT ${list}, gen_random_uuid(), t, t
         FROM report r, generate_series(1, $1) g,
              LATERAL (SELECT now() - random() * interval '14 days' AS t) x
        WHERE r.id <= $2`,
      [n, originals],
    );
  }
  await db.pool.query(
    `UPDATE issue i SET event_count = s.n, first_seen = s.first, last_seen = s.last, last_received = s.last
       FROM (SELECT project_id, issue_id, count(*) AS n, min(timestamp) AS first, max(timestamp) AS last
               FROM report GROUP BY project_id, issue_id) s
      WHERE i.project_id = s.project_id AND i.id = s.issue_id`,
  );
  await db.pool.query('VACUUM ANALYZE');
}

export async function runQuery(ctx: BenchContext): Promise<QueryResult> {
  const { opts, log } = ctx;
  const db = await ctx.pg.create('query');
  const server = await startCrashCache({ databaseUrl: db.url });
  try {
    const t0 = performance.now();
    // 29 fixtures, but some group alone (a fixed fingerprint, transactions): 36 groups per fixture
    // made 802 issues, so ~22 fixtures count
    const groups = Math.max(1, Math.ceil(opts.queryIssues / 22));
    const seed = opts.queryIssues * 4;
    log(`query: seeding ${seed} events over ~${opts.queryIssues} issues, then ${opts.queryEvents} events in SQL`);
    await runLoad(
      { endpoints: [{ host: '127.0.0.1', port: server.port }], connections: 20, senders: 1, durationSec: 600, maxRequests: seed, workload: { kind: 'mix', groups }, target: { projectId: db.projectId, key: db.key }, expected: seed },
      'node',
    );
    await waitDrained(server.port);
    await multiply(db, opts.queryEvents);
    const seedSeconds = round((performance.now() - t0) / 1000, 1);
    const events = await countRows(db, 'report');
    const issues = await countRows(db, 'issue');
    const token = await createToken(db);
    const base = `/api/0/projects/${ORG}/${db.projectSlug}/issues/`;
    const variants = [
      { name: 'default (unresolved, by last seen)', path: base },
      { name: 'sort=freq', path: `${base}?sort=freq` },
      { name: 'query=is:unresolved level:error, statsPeriod=14d', path: `${base}?query=${encodeURIComponent('is:unresolved level:error')}&statsPeriod=14d` },
    ];
    const mem = sampleMemory([server]);
    const out: QueryVariant[] = [];
    for (const v of variants) {
      const first = await apiGet(server.port, v.path, token);
      if (isMissingRoute(first)) {
        return { events, issues, requests: 0, variants: [], missing: `${base} does not exist yet`, seedSeconds, memory: mem.stop() };
      }
      const shortPath = v.path.replace(base, '…/issues/');
      if (first.status !== 200) {
        out.push({ name: v.name, path: shortPath, p50Ms: 0, p95Ms: 0, maxMs: 0, error: `${first.status}: ${first.body.slice(0, 200)}` });
        continue;
      }
      const times: number[] = [];
      for (let i = 0; i < opts.queryRequests; i++) {
        const s = performance.now();
        const a = await apiGet(server.port, v.path, token);
        times.push(performance.now() - s);
        if (a.status !== 200) throw new Error(`issue list answered ${a.status}: ${a.body.slice(0, 300)}`);
      }
      times.sort((a, b) => a - b);
      out.push({ name: v.name, path: shortPath, p50Ms: round(percentile(times, 50), 1), p95Ms: round(percentile(times, 95), 1), maxMs: round(times[times.length - 1]!, 1) });
    }
    return { events, issues, requests: opts.queryRequests, variants: out, seedSeconds, memory: mem.stop() };
  } finally {
    await server.stop();
    await db.drop();
  }
}
