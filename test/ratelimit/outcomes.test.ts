import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshDatabase, type TestDatabase } from '../helpers/db.js';
import { cli } from '../helpers/server.js';
import { createLogger } from '../../src/log.js';
import { createOutcomes, listOutcomes, outcomeTotals } from '../../src/outcomes/index.js';
import { createProject } from '../../src/storage/projects.js';

// Outcomes: buffered counts, flushed with one atomic upsert; SDK client reports read alongside.

let db: TestDatabase;
const log = createLogger('error');
const HOUR = 3_600_000;
const T0 = Date.UTC(2025, 0, 5, 9, 15); // long ago, so /health's last-24-hours totals below see none of it
beforeAll(async () => {
  db = await freshDatabase();
});
afterAll(async () => {
  await db.drop();
});

async function sum(where = 'true', params: unknown[] = []): Promise<number> {
  const { rows } = await db.pool.query(`SELECT coalesce(sum(quantity), 0)::bigint AS n FROM outcome WHERE ${where}`, params);
  return Number(rows[0].n);
}

describe('outcomes', () => {
  it('counts per project, hour, outcome, reason and category; unknown projects as NULL', async () => {
    const { project } = await createProject(db.pool, { name: 'counts' });
    let t = T0;
    const o = createOutcomes(db.pool, log, { flushMs: 0, now: () => t });
    for (let i = 0; i < 1000; i++) o.record(project.id, 'rate_limited', 'project_rate_limit', 'default');
    o.record(project.id, 'too_large', 'MAX_EVENT_BYTES', 'error', 3);
    o.record(null, 'unauthorized', 'unknown_key', 'default');
    o.record(null, 'unauthorized', 'unknown_key', 'default');
    t += HOUR; // next hour: a new row
    o.record(project.id, 'rate_limited', 'project_rate_limit', 'default');
    expect(o.pending()).toBe(4);
    await o.flush();
    expect(o.pending()).toBe(0);
    const rows = await listOutcomes(db.pool, { projectId: project.id });
    expect(rows.map((r) => [r.hour.toISOString(), r.outcome, r.reason, r.category, r.quantity])).toEqual([
      ['2025-01-05T10:00:00.000Z', 'rate_limited', 'project_rate_limit', 'default', 1],
      ['2025-01-05T09:00:00.000Z', 'rate_limited', 'project_rate_limit', 'default', 1000],
      ['2025-01-05T09:00:00.000Z', 'too_large', 'MAX_EVENT_BYTES', 'error', 3],
    ]);
    // Flushing again adds to the same rows; NULL project ids collide too.
    t = T0;
    o.record(null, 'unauthorized', 'unknown_key', 'default', 5);
    await o.close();
    const { rows: nulls } = await db.pool.query(`SELECT quantity::int FROM outcome WHERE project_id IS NULL AND reason = 'unknown_key'`);
    expect(nulls).toEqual([{ quantity: 7 }]);
    expect((await listOutcomes(db.pool, { projectId: project.id, since: new Date(T0 + HOUR + 1000) })).length).toBe(1);
  });

  it('concurrent flushes from several processes add up exactly (atomic upsert, no deadlock)', async () => {
    const { project } = await createProject(db.pool, { name: 'concurrent' });
    const writers = Array.from({ length: 4 }, () => createOutcomes(db.pool, log, { flushMs: 0, now: () => T0 }));
    const reasons = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'];
    await Promise.all(
      writers.map(async (w, wi) => {
        for (let round = 0; round < 10; round++) {
          // Each writer touches the keys in a different order.
          for (let i = 0; i < reasons.length; i++) w.record(project.id, 'invalid', reasons[(i * (wi + 1) + round) % reasons.length]!, 'error', 2);
          await w.flush();
        }
      }),
    );
    expect(await sum('project_id = $1', [project.id])).toBe(4 * 10 * 8 * 2);
    const { rows } = await db.pool.query('SELECT count(*)::int AS n FROM outcome WHERE project_id = $1', [project.id]);
    expect(rows[0].n).toBe(8);
  });

  it('a project deleted before the flush is counted as unknown, not lost', async () => {
    const { project } = await createProject(db.pool, { name: 'deleted' });
    const o = createOutcomes(db.pool, log, { flushMs: 0, now: () => T0 });
    o.record(project.id, 'filtered', 'gone_soon', 'error', 4);
    await db.pool.query('DELETE FROM project WHERE id = $1', [project.id]);
    await o.flush();
    expect(await sum(`project_id IS NULL AND reason = 'gone_soon'`)).toBe(4);
  });

  it('the buffer is bounded: distinct keys past the cap are counted under outcome_buffer_full', async () => {
    const { project } = await createProject(db.pool, { name: 'bounded' });
    const o = createOutcomes(db.pool, log, { flushMs: 0, now: () => T0, maxKeys: 10 });
    for (let i = 0; i < 5000; i++) o.record(project.id, 'invalid', `reason_${i}`, i % 2 ? 'error' : 'session');
    expect(o.pending()).toBe(12); // 10 detailed keys + one overflow key per category
    await o.flush();
    expect(await sum(`project_id = $1 AND reason LIKE 'reason_%'`, [project.id])).toBe(10);
    expect(await sum(`project_id IS NULL AND reason = 'outcome_buffer_full' AND outcome = 'invalid'`)).toBe(4990);
  });

  it('keeps the counts when the database is unreachable, within the bound', async () => {
    const dead = new pg.Pool({ connectionString: 'postgres://nobody@127.0.0.1:1/none', connectionTimeoutMillis: 500 });
    dead.on('error', () => {});
    const o = createOutcomes(dead, log, { flushMs: 0, now: () => T0 });
    o.record(1, 'invalid', 'x', 'error', 3);
    o.record(1, 'invalid', 'y', 'error');
    await expect(o.flush()).rejects.toThrow();
    expect(o.pending()).toBe(2);
    await dead.end();
  });

  it('client reports (client_report_hourly) are listed as client_discard and totalled for /health', async () => {
    const { project } = await createProject(db.pool, { name: 'client-reports' });
    const hour = new Date(Date.now() - (Date.now() % HOUR));
    await db.pool.query(
      `INSERT INTO client_report_hourly (project_id, hour, reason, category, quantity) VALUES ($1, $2, 'ratelimit_backoff', 'error', 3), ($1, $2, 'sample_rate', 'transaction', 9)`,
      [project.id, hour],
    );
    const o = createOutcomes(db.pool, log, { flushMs: 0 });
    o.record(project.id, 'rate_limited', 'ip_rate_limit', 'default', 2);
    await o.close();
    const rows = await listOutcomes(db.pool, { projectId: project.id, since: new Date(Date.now() - 3 * HOUR) });
    expect(rows.map((r) => [r.outcome, r.reason, r.category, r.quantity]).sort()).toEqual([
      ['client_discard', 'ratelimit_backoff', 'error', 3],
      ['client_discard', 'sample_rate', 'transaction', 9],
      ['rate_limited', 'ip_rate_limit', 'default', 2],
    ]);
    const totals = await outcomeTotals(db.pool);
    expect(totals.client_discard).toBe(12);
    expect(totals.rate_limited).toBe(2);
  });

  it('the CLI lists outcomes and sets per-project limits', async () => {
    const env = { DATABASE_URL: db.url };
    const { project } = await createProject(db.pool, { name: 'cli' });
    const o = createOutcomes(db.pool, log, { flushMs: 0 });
    o.record(project.id, 'too_large', 'MAX_ENVELOPE_BYTES', 'default', 6);
    await o.close();
    const out = await cli(['outcomes', '--project', String(project.id), '--since', '2h'], env);
    expect(out).toMatch(new RegExp(`\\t${project.id}\\ttoo_large\\tMAX_ENVELOPE_BYTES\\tdefault\\t6`));
    expect(JSON.parse(await cli(['outcomes', '--project', project.slug, '--json'], env))).toHaveLength(1);
    await expect(cli(['outcomes', '--since', 'yesterday'], env)).rejects.toThrow(/--since/);

    expect(await cli(['project', 'update', String(project.id), '--rate-limit', '5'], env)).toMatch(/5 requests\/second/);
    const rate = async () => (await db.pool.query('SELECT rate_limit_per_sec FROM project WHERE id = $1', [project.id])).rows[0].rate_limit_per_sec;
    expect(await rate()).toBe(5);
    expect(await cli(['project', 'update', String(project.id), '--rate-limit', '0'], env)).toMatch(/unlimited/);
    expect(await rate()).toBe(0);
    expect(await cli(['project', 'update', String(project.id), '--rate-limit', 'default'], env)).toMatch(/default/);
    expect(await rate()).toBeNull();
    await expect(cli(['project', 'update', String(project.id), '--rate-limit', '-3'], env)).rejects.toThrow(/--rate-limit/);
    await expect(cli(['project', 'update', '999999', '--rate-limit', '3'], env)).rejects.toThrow(/No project 999999/);
  });
});
