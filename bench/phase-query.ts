import { performance } from 'node:perf_hooks';
import { apiGet, createToken, isMissingRoute, ORG, type ApiAnswer } from './api.js';
import { percentile, round, workloadOf, type BenchContext } from './context.js';
import { countRows, waitDrained, type BenchDb } from './db.js';
import { runLoad } from './load.js';
import { sampleMemory, startCrashCache, type MemoryPeak } from './procs.js';

// Query: the issue list (GET /api/0/projects/{org}/{project}/issues/) over `queryEvents` events in
// `queryIssues` issues. The issues and their first events come through the real path (ingest +
// digest); the bulk of the events is then made in SQL by copying those report rows with fresh event
// ids and timestamps spread over the last 14 days, and the issues' counters and first/last seen are
// recomputed from the reports — the rows the digest would have written for the same events, without
// waiting minutes for it. (The copies point at the originals' archive rows; the list never reads
// the archive; an issue's latest event is rebuilt from its original's payload.)
//
// Then one client reads as a person does, one request at a time, from a server started after the
// seeding: for each sort and search, the issue list's first page and the next ones through the
// `Link` header's cursors to the end (then from the top again, until the variant's `queryRequests`
// pages are made); from each page it opens an issue (a different row on each page) and that issue's
// latest event. Timings are kept per list variant, and for issue details and latest events apart.

export interface QueryVariant {
  name: string;
  path: string;
  /** requests made (pages, or issues opened) */
  requests: number;
  /** distinct pages reached through cursors (list variants) */
  pages?: number;
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
  /** issue lists, one per sort or search, each paged through with its cursors */
  variants: QueryVariant[];
  /** one issue, and its latest event, opened from the list pages */
  detail: QueryVariant[];
  /** set when the issue-list route does not exist yet */
  missing?: string;
  seedSeconds: number;
  memory: MemoryPeak;
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
  let server = await startCrashCache({ databaseUrl: db.url });
  try {
    const t0 = performance.now();
    // 29 fixtures, but some group alone (a fixed fingerprint, transactions): 36 groups per fixture
    // made 802 issues, so ~22 fixtures count
    const groups = Math.max(1, Math.ceil(opts.queryIssues / 22));
    const seed = opts.queryIssues * 4;
    log(`query: seeding ${seed} events over ~${opts.queryIssues} issues, then ${opts.queryEvents} events in SQL`);
    await runLoad(
      { endpoints: [{ host: '127.0.0.1', port: server.port }], connections: 20, senders: 1, durationSec: 600, maxRequests: seed, workload: workloadOf(ctx, 'mix', groups), target: { projectId: db.projectId, key: db.key }, expected: seed },
      'node',
    );
    await waitDrained(server.port, 'query');
    await multiply(db, opts.queryEvents);
    // The reads get a server of their own: the one that ingested and digested the seed keeps its peak
    // (RSS is not given back), and this phase's memory row is what answering the API takes.
    await server.stop();
    server = await startCrashCache({ databaseUrl: db.url });
    const seedSeconds = round((performance.now() - t0) / 1000, 1);
    const events = await countRows(db, 'report');
    const issues = await countRows(db, 'issue');
    const token = await createToken(db);
    const base = `/api/0/projects/${ORG}/${db.projectSlug}/issues/`;
    const q = (query: string) => `query=${encodeURIComponent(query)}`;
    // 25 issues a page, as Sentry's issue stream asks for
    const variants = [
      { name: 'default (unresolved, by last seen)', path: `${base}?limit=25` },
      { name: 'sort=freq', path: `${base}?limit=25&sort=freq` },
      { name: 'sort=new', path: `${base}?limit=25&sort=new` },
      { name: 'sort=user', path: `${base}?limit=25&sort=user` },
      { name: 'is:unresolved level:error, statsPeriod=14d', path: `${base}?limit=25&${q('is:unresolved level:error')}&statsPeriod=14d` },
      { name: 'free text "Error", sort=freq', path: `${base}?limit=25&${q('is:unresolved Error')}&sort=freq` },
      { name: 'has:user !level:info, statsPeriod=24h', path: `${base}?limit=25&${q('has:user !level:info')}&statsPeriod=24h` },
    ];
    const mem = sampleMemory([server]);
    if (isMissingRoute(await apiGet(server.port, base, token))) {
      return { events, issues, requests: 0, variants: [], detail: [], missing: `${base} does not exist yet`, seedSeconds, memory: mem.stop() };
    }
    const stats = (name: string, path: string, times: number[], extra: Partial<QueryVariant> = {}): QueryVariant => {
      times.sort((a, b) => a - b);
      return { name, path, requests: times.length, ...extra, p50Ms: round(percentile(times, 50), 1), p95Ms: round(percentile(times, 95), 1), maxMs: round(times[times.length - 1] ?? 0, 1) };
    };
    const timed = async (path: string): Promise<{ a: ApiAnswer & { link: string | null }; ms: number }> => {
      const s = performance.now();
      const res = await fetch(`http://127.0.0.1:${server.port}${path}`, { headers: { authorization: `Bearer ${token}` } });
      const a = { status: res.status, body: await res.text(), link: res.headers.get('link') };
      return { a, ms: performance.now() - s };
    };
    const detailTimes: number[] = [];
    const latestTimes: number[] = [];
    let detailError: string | undefined;
    let latestError: string | undefined;
    const out: QueryVariant[] = [];
    let total = 0;
    for (const v of variants) {
      const shortPath = v.path.replace(base, '…/issues/');
      const times: number[] = [];
      const seen = new Set<string>();
      let path = v.path;
      let page = 0;
      let error: string | undefined;
      while (times.length < opts.queryRequests) {
        const { a, ms } = await timed(path);
        if (a.status !== 200) {
          error = `${a.status}: ${a.body.slice(0, 200)}`;
          break;
        }
        times.push(ms);
        seen.add(path);
        const rows = JSON.parse(a.body) as { id: string }[];
        // open one issue of the page, a different row each page, and its latest event
        const pick = rows[page % Math.max(1, rows.length)];
        if (pick) {
          const d = await timed(`/api/0/organizations/${ORG}/issues/${pick.id}/`);
          if (d.a.status === 200) detailTimes.push(d.ms);
          else detailError ??= `${d.a.status}: ${d.a.body.slice(0, 200)}`;
          const l = await timed(`/api/0/organizations/${ORG}/issues/${pick.id}/events/latest/`);
          if (l.a.status === 200) latestTimes.push(l.ms);
          else latestError ??= `${l.a.status}: ${l.a.body.slice(0, 200)}`;
        }
        page++;
        // rel="next" with results="true": there is a next page; else back to the first
        const next = /<([^>]+)>; rel="next"; results="true"/.exec(a.link ?? '');
        path = next ? new URL(next[1]!).pathname + new URL(next[1]!).search : v.path;
      }
      total += times.length;
      out.push(error && !times.length ? { name: v.name, path: shortPath, requests: 0, p50Ms: 0, p95Ms: 0, maxMs: 0, error } : stats(v.name, shortPath, times, { pages: seen.size, ...(error ? { error } : {}) }));
    }
    const detail = [
      detailError && !detailTimes.length ? { name: 'issue detail', path: '…/issues/{id}/', requests: 0, p50Ms: 0, p95Ms: 0, maxMs: 0, error: detailError } : stats('issue detail', '…/issues/{id}/', detailTimes),
      latestError && !latestTimes.length ? { name: 'latest event', path: '…/issues/{id}/events/latest/', requests: 0, p50Ms: 0, p95Ms: 0, maxMs: 0, error: latestError } : stats('latest event', '…/issues/{id}/events/latest/', latestTimes),
    ];
    total += detailTimes.length + latestTimes.length;
    return { events, issues, requests: total, variants: out, detail, seedSeconds, memory: mem.stop() };
  } finally {
    await server.stop();
    await db.drop();
  }
}
