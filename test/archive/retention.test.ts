import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runRetentionPass, type RetentionOptions } from '../../src/archive/retention/pass.js';
import { setProjectRetention } from '../../src/archive/retention/project-settings.js';
import { storageUse } from '../../src/archive/retention/size.js';
import { drainQueue, resetDigest } from '../../src/digest/ruminate.js';
import { createProject } from '../../src/storage/projects.js';
import { digestAll, enqueue, type Payload } from '../digest/archive.js';
import { freshDatabase, type TestDatabase } from '../helpers/db.js';
import { cli } from '../helpers/server.js';

// Retention on real PostgreSQL, in process: payloads archived with chosen receive times, digested
// by the worker's own batch function, then retention passes (src/archive/retention/) — by age, by
// count per issue, by the disk budget — each checked row by row.

const DAY = 86_400_000;
const ago = (days: number) => new Date(Date.now() - days * DAY);
const hex = (n: number) => n.toString(16).padStart(32, '0');
const OPTS: RetentionOptions = { defaultDays: 90, batchSize: 3, lowWaterPercent: 90, sourcemapDays: 90 };

/** A store event of its own group (`kind`), received `days` ago. */
function event(n: number, kind: string, days: number, pad = 0): Payload {
  return {
    kind: 'store',
    receivedAt: ago(days),
    body: Buffer.from(JSON.stringify({ event_id: hex(n), platform: 'python', level: 'error', message: `retention ${kind}`, tags: { request: `req-${n}`, region: 'eu' }, extra: pad ? { pad: randomText(n, pad) } : undefined })),
  };
}

/** Text that does not compress (so payload sizes are what the test says). */
function randomText(seed: number, n: number): string {
  let x = seed * 2654435761 >>> 0;
  let s = '';
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    s += String.fromCharCode(33 + ((x >>> 16) % 90));
  }
  return s;
}

let db: TestDatabase;
const reportIds = async (projectId: number) =>
  (await db.pool.query<{ e: string }>("SELECT replace(event_id::text, '-', '') AS e FROM report WHERE project_id = $1 ORDER BY id", [projectId])).rows.map((r) => r.e);
const issueOf = async (projectId: number, kind: string) =>
  (await db.pool.query<{ id: number; event_count: number; first_seen: Date; last_seen: Date; status: string }>(
    'SELECT id::int, event_count::int, first_seen, last_seen, status FROM issue WHERE project_id = $1 AND title = $2', [projectId, `retention ${kind}`])).rows[0];

beforeAll(async () => {
  db = await freshDatabase();
});
afterAll(async () => {
  await db?.drop();
});

const generation = async () => (await db.pool.query<{ g: number }>('SELECT generation::int AS g FROM digest_state')).rows[0]!.g;
const requests = async (projectId: number) =>
  (await db.pool.query<{ value: string }>("SELECT value FROM tag_value WHERE project_id = $1 AND key = 'request' ORDER BY value", [projectId])).rows.map((r) => r.value);

describe('retention by age', () => {
  let a: number, b: number;
  let requestsBefore: string[];
  let generationBefore: number;
  beforeAll(async () => {
    a = Number((await createProject(db.pool, { name: 'age-a' })).project.id);
    b = Number((await createProject(db.pool, { name: 'age-b' })).project.id);
    await setProjectRetention(db.pool, b, { retentionDays: 10 });
    await enqueue(db.pool, a, [event(1, 'old', 100), event(2, 'old', 95), event(3, 'mixed', 91), event(4, 'mixed', 80), event(5, 'mixed', 0)]);
    await enqueue(db.pool, b, [event(11, 'b', 20), event(12, 'b', 11), event(13, 'b', 5)]);
    // Received 80 days ago, but its own timestamp says 95: it goes by that (sent late by its SDK).
    const late = event(7, 'mixed', 80);
    late.body = Buffer.from(JSON.stringify({ ...JSON.parse(late.body.toString()), timestamp: ago(95).toISOString() }));
    await enqueue(db.pool, a, [late]);
    await digestAll(db.pool);
    // Old sessions and an old outcome (hourly rows without a payload of their own).
    await db.pool.query(`INSERT INTO outcome (project_id, hour, outcome, reason, category, quantity) VALUES
      ($1, date_trunc('hour', now() - interval '100 days'), 'rate_limited', 'x', 'error', 3),
      ($1, date_trunc('hour', now() - interval '10 days'), 'rate_limited', 'x', 'error', 4)`, [a]);
    // Not digested yet: must survive every pass whatever its age.
    await enqueue(db.pool, a, [event(6, 'undigested', 200)]);
    requestsBefore = await requests(a);
    generationBefore = await generation();
  });

  it('a dry run says what would go and deletes nothing', async () => {
    const out = await cli(['retention', 'run', '--dry-run'], { DATABASE_URL: db.url, RETENTION_DAYS: '90', RETENTION_BATCH_SIZE: '3' });
    expect(out).toMatch(/would delete/);
    expect(out).toMatch(new RegExp(`^age\\t${a}\\t3\\t3\\t`, 'm'));
    expect(out).toMatch(new RegExp(`^age\\t${b}\\t2\\t2\\t`, 'm'));
    expect(out).toMatch(new RegExp(`^event-age\\t${a}\\t1\\t1\\t`, 'm'));
    expect(await reportIds(a)).toEqual([1, 2, 3, 4, 5, 7].map(hex));
  });

  it('deletes exactly the payloads older than their project retention, with their reports; issues keep their counters', async () => {
    const mixedBefore = (await issueOf(a, 'mixed'))!;
    const r = (await runRetentionPass(db.pool, OPTS))!;
    expect(await reportIds(a)).toEqual([4, 5].map(hex));
    expect(await reportIds(b)).toEqual([13].map(hex));
    const age = Object.fromEntries(r.deleted.filter((d) => d.kind === 'age').map((d) => [d.projectId, d.events]));
    expect(age).toEqual({ [a]: 3, [b]: 2 });
    expect(r.deleted.filter((d) => d.kind === 'event-age')).toEqual([{ kind: 'event-age', projectId: a, events: 1, payloads: 1, payloadBytes: expect.any(Number), rows: 0 }]);
    // The undigested payload (200 days old) is still archived and queued.
    const { rows: q } = await db.pool.query('SELECT a.id FROM archive a JOIN queue q ON q.project_id = a.project_id AND q.archive_id = a.id WHERE a.project_id = $1', [a]);
    expect(q).toHaveLength(1);
    // Only payloads inside retention (and the queued one) are left.
    const { rows: left } = await db.pool.query<{ n: number }>("SELECT count(*)::int AS n FROM archive WHERE project_id = $1 AND received_at < now() - interval '90 days'", [a]);
    expect(left[0]!.n).toBe(1);
    // The issue keeps its counters and times after its events went.
    const mixed = (await issueOf(a, 'mixed'))!;
    expect(mixed).toEqual(mixedBefore);
    expect(mixed.event_count).toBe(4);
    // The outcome of 100 days ago went, the one of 10 days ago stayed (project a keeps 90 days).
    const { rows: oc } = await db.pool.query<{ quantity: number }>('SELECT quantity::int FROM outcome WHERE project_id = $1', [a]);
    expect(oc).toEqual([{ quantity: 4 }]);
    // Counted per project and kind.
    const { rows: rec } = await db.pool.query<{ project_id: number; kind: string; events: number; payloads: number }>(
      "SELECT project_id::int, kind, events::int, payloads::int FROM retention_deletion WHERE kind = 'age' ORDER BY project_id");
    expect(rec).toEqual([{ project_id: a, kind: 'age', events: 3, payloads: 3 }, { project_id: b, kind: 'age', events: 2, payloads: 2 }]);
  });

  it('deletes an issue with no event left once it is older than the retention', async () => {
    expect(await issueOf(a, 'old')).toBeUndefined();
    // its tag values went with it (the pass of the test before), those other issues count stayed; the
    // digest was told to forget the ids it remembers
    expect(requestsBefore).toEqual(['req-1', 'req-2', 'req-3', 'req-4', 'req-5', 'req-7']);
    expect(await requests(a)).toEqual(['req-3', 'req-4', 'req-5', 'req-7']);
    expect((await db.pool.query("SELECT 1 FROM tag_value WHERE project_id = $1 AND key = 'region'", [a])).rowCount).toBe(1);
    expect(await generation()).toBeGreaterThan(generationBefore);
    const { rows } = await db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM issue_hash h WHERE NOT EXISTS (SELECT 1 FROM issue i WHERE i.project_id = h.project_id AND i.id = h.issue_id)');
    expect(rows[0]!.n).toBe(0);
    // Project b's issue still has an event: kept with its three.
    expect((await issueOf(b, 'b'))!.event_count).toBe(3);
  });

  it('a second pass finds nothing more', async () => {
    const r = (await runRetentionPass(db.pool, OPTS))!;
    expect(r.deleted.filter((d) => d.events || d.payloads)).toEqual([]);
  });

  it('ruminate afterwards rebuilds from what is left', async () => {
    await resetDigest(db.pool);
    await drainQueue(db.pool, { batchSize: 50, maxBytes: 1 << 20 });
    expect(await reportIds(a)).toEqual([4, 5, 6].map(hex));
    expect((await issueOf(a, 'mixed'))!.event_count).toBe(2);
  });
});

describe('retention by count', () => {
  it('keeps the first event and the most recent ones of each issue, nothing of other issues or projects', async () => {
    const c = Number((await createProject(db.pool, { name: 'count-c' })).project.id);
    const d = (await createProject(db.pool, { name: 'count-d' })).project.id;
    await setProjectRetention(db.pool, c, { maxEventsPerIssue: 3 });
    // Received in this order (one payload each, so ids follow it).
    for (let n = 1; n <= 7; n++) await enqueue(db.pool, c, [event(100 + n, 'flood', 1)]);
    await enqueue(db.pool, c, [event(120, 'rare', 1), event(121, 'rare', 1)]);
    for (let n = 1; n <= 5; n++) await enqueue(db.pool, d, [event(200 + n, 'flood', 1)]);
    await digestAll(db.pool);
    const r = (await runRetentionPass(db.pool, OPTS))!;
    expect(await reportIds(c)).toEqual([101, 106, 107, 120, 121].map(hex));
    expect(await reportIds(d)).toHaveLength(5);
    expect(r.deleted.filter((x) => x.kind === 'count')).toEqual([{ kind: 'count', projectId: c, events: 4, payloads: 4, payloadBytes: expect.any(Number), rows: 0 }]);
    const { rows } = await db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM archive WHERE project_id = $1', [c]);
    expect(rows[0]!.n).toBe(5);
    expect((await issueOf(c, 'flood'))!.event_count).toBe(7);
  });
});

describe('the disk budget', () => {
  it('deletes the oldest payloads across projects until the space in use is under the low-water mark, never an undigested one', async () => {
    const e = Number((await createProject(db.pool, { name: 'budget-e' })).project.id);
    const f = (await createProject(db.pool, { name: 'budget-f' })).project.id;
    // 600 payloads of ~6 KB that do not compress, alternating projects, one day apart in age order.
    const payloads = Array.from({ length: 600 }, (_, i) => ({ project: i % 2 ? f : e, p: event(1000 + i, i % 2 ? 'f' : 'e', 30 - i * 0.04, 6000) }));
    for (const project of [e, f]) await enqueue(db.pool, project, payloads.filter((x) => x.project === project).map((x) => x.p));
    await digestAll(db.pool);
    await enqueue(db.pool, e, [event(5000, 'e', 60, 6000)]); // the oldest of all, not digested
    await db.pool.query('VACUUM');
    // Every event of every project (the other tests' too), oldest first.
    const all = async () => (await db.pool.query<{ e: string }>("SELECT replace(event_id::text, '-', '') AS e FROM report ORDER BY received_at, id")).rows.map((r) => r.e);
    const before = await all();
    const use = await storageUse(db.pool);
    // A budget about 1.5 MB under what is in use: some 300 payloads must go.
    const budget = use.usedBytes - 1_500_000;
    const opts = { ...OPTS, batchSize: 100, budgetBytes: budget };
    let after = use.usedBytes;
    for (let i = 0; i < 10 && after > budget; i++) {
      const r = (await runRetentionPass(db.pool, opts))!;
      after = r.after!.usedBytes;
    }
    expect(after).toBeLessThanOrEqual(budget);
    // Oldest first across projects: what is left is exactly the newest events.
    const kept = await all();
    expect(kept.length).toBeGreaterThan(100);
    expect(kept.length).toBeLessThan(before.length - 200);
    expect(kept).toEqual(before.slice(before.length - kept.length));
    expect(kept).toContain(hex(1599));
    // The undigested payload, the oldest of all, is still there and queued.
    const { rows: q } = await db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM queue q JOIN archive a ON a.project_id = q.project_id AND a.id = q.archive_id');
    expect(q[0]!.n).toBe(1);
    const { rows: rec } = await db.pool.query<{ events: number }>("SELECT sum(events)::int AS events FROM retention_deletion WHERE kind = 'budget'");
    expect(rec[0]!.events).toBe(before.length - kept.length);
  });
});
