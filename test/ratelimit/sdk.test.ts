import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshDatabase, type TestDatabase } from '../helpers/db.js';
import { startServer, type RunningServer } from '../helpers/server.js';
import { createProject } from '../../src/storage/projects.js';
import { PACKAGE_ROOT } from '../../src/paths.js';
import { storedBytes } from '../ingest/stored.js';
import { createToken } from '../../src/api/tokens.js';
import { listOutcomes } from '../../src/outcomes/index.js';

// The real @sentry/node 11.12.0 against the built server with a per-project limit of 2/s (burst
// 1 s): it gets 429s, drops events itself for the announced Retry-After (and says so in its client
// report), and is accepted again afterwards. Every event it processed is accounted for: accepted
// (archived) + refused with 429 (outcome table) + dropped by the SDK (its client report).

const run = promisify(execFile);
let db: TestDatabase;
let server: RunningServer;
let projectId: number;
let slug: string;
let dsn: string;

beforeAll(async () => {
  db = await freshDatabase();
  const p = await createProject(db.pool, { name: 'sdk-backoff' });
  projectId = p.project.id;
  slug = p.project.slug;
  server = await startServer({
    DATABASE_URL: db.url,
    RATE_LIMIT_GLOBAL_PER_SEC: '0',
    RATE_LIMIT_PER_IP_PER_SEC: '0',
    RATE_LIMIT_PER_PROJECT_PER_SEC: '2',
    RATE_LIMIT_BURST_SECS: '1',
  });
  dsn = `http://${p.key.public_key}@127.0.0.1:${server.port}/${projectId}`;
});
afterAll(async () => {
  await server?.stop();
  await db?.drop();
});

interface Result {
  types: string[];
  status: number | null;
  limits: string | null;
  payload?: { discarded_events: { reason: string; category: string; quantity: number }[] };
}

describe('@sentry/node against rate limits', () => {
  it('backs off for the announced time, reports its drops, and is accepted again; nothing is unaccounted for', async () => {
    const { stdout } = await run(process.execPath, [join(PACKAGE_ROOT, 'test/ratelimit/fixtures/sdk-backoff.mjs')], {
      cwd: PACKAGE_ROOT,
      env: { ...process.env, DSN: dsn },
      timeout: 60_000,
    });
    const out = JSON.parse(stdout.trim().split('\n').pop()!) as { processed: number; retryAfter: number; results: Result[] };
    const events = out.results.filter((r) => r.types.includes('event'));
    const accepted = events.filter((r) => r.status === 200).length;
    const refused = events.filter((r) => r.status === 429);
    const droppedBySdk = events.filter((r) => r.status === null).length;

    // The server limited it, saying for how long, in the format the SDK parsed.
    expect(refused.length).toBeGreaterThan(0);
    expect(refused[0]!.limits).toBe('1:error:project:project_rate_limit');
    expect(out.retryAfter).toBe(1);
    // The SDK then dropped events itself instead of sending them...
    expect(droppedBySdk).toBeGreaterThan(0);
    // ...and after the announced time its client report and its next event were accepted.
    const report = out.results.find((r) => r.types.includes('client_report'));
    expect(report?.status).toBe(200);
    const backoff = report!.payload!.discarded_events.filter((d) => d.reason === 'ratelimit_backoff' && d.category === 'error');
    expect(backoff.reduce((n, d) => n + d.quantity, 0)).toBe(droppedBySdk);
    expect(out.results.at(-1)).toMatchObject({ types: ['event'], status: 200 });

    // Server side: accepted events are archived; every 429 is a rate_limited outcome (flushed
    // within about a second); and the client report itself is in the archive.
    const { rows: arch } = await db.pool.query(`SELECT count(*)::int AS n FROM archive WHERE project_id = $1 AND event_id IS NOT NULL`, [projectId]);
    expect(arch[0].n).toBe(accepted);
    const limitedOutcomes = async () =>
      (await db.pool.query(`SELECT coalesce(sum(quantity), 0)::int AS n FROM outcome WHERE project_id = $1 AND outcome = 'rate_limited'`, [projectId])).rows[0].n as number;
    const end = Date.now() + 15_000;
    while ((await limitedOutcomes()) < refused.length && Date.now() < end) await new Promise((r) => setTimeout(r, 100));
    expect(await limitedOutcomes()).toBe(refused.length);
    const { rows: payloads } = await db.pool.query(`SELECT project_id, encoding, payload, dict_id FROM archive WHERE project_id = $1 AND event_id IS NULL`, [projectId]);
    const texts: string[] = [];
    for (const p of payloads) texts.push((await storedBytes(db.pool, p)).toString('utf8'));
    expect(texts.some((t: string) => t.includes('"type":"client_report"') && t.includes('ratelimit_backoff'))).toBe(true);

    // The digest turns the client report into counts; listOutcomes shows them as client_discard.
    const discarded = async () =>
      (await listOutcomes(db.pool, { projectId }))
        .filter((o) => o.outcome === 'client_discard' && o.reason === 'ratelimit_backoff' && o.category === 'error')
        .reduce((n, o) => n + o.quantity, 0);
    const end2 = Date.now() + 15_000;
    while ((await discarded()) < droppedBySdk && Date.now() < end2) await new Promise((r) => setTimeout(r, 100));
    expect(await discarded()).toBe(droppedBySdk);

    // A user sees the refusals and the SDK's drops through the read API.
    const { token } = await createToken(db.pool, 'sdk-test');
    const api = await fetch(`${server.url}/api/0/projects/crash-cache/${slug}/outcomes/?statsPeriod=1h`, { headers: { authorization: `Bearer ${token}` } });
    expect(api.status).toBe(200);
    const totals = ((await api.json()) as { totals: { outcome: string; quantity: number }[] }).totals;
    expect(totals.filter((t) => t.outcome === 'rate_limited').reduce((n, t) => n + t.quantity, 0)).toBe(refused.length);
    expect(totals.filter((t) => t.outcome === 'client_discard').reduce((n, t) => n + t.quantity, 0)).toBe(droppedBySdk);

    // Everything the app captured: accepted + refused by us + dropped by the SDK.
    expect(out.processed).toBe(events.length);
    expect(accepted + refused.length + droppedBySdk).toBe(out.processed);
  });
});
