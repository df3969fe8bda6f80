import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshDatabase, type TestDatabase } from '../helpers/db.js';
import { startServer, type RunningServer } from '../helpers/server.js';
import { createProject } from '../../src/storage/projects.js';
import { checkExactlyOnce, KINDS, runLoad, waitForDrain } from './load.js';

// Two ingest-only processes and two worker-only processes on one database: every acknowledged event
// appears once and each issue's count is exactly the number of its events that were acknowledged.

const EVENTS = Number(process.env.SCALE_OUT_EVENTS ?? 20_000);
let db: TestDatabase;
const procs: RunningServer[] = [];

beforeAll(async () => {
  db = await freshDatabase();
});
afterAll(async () => {
  for (const p of procs) await p.stop();
  await db?.drop();
});

describe('scale-out', () => {
  it(`2 ingest + 2 workers digest ${EVENTS} events exactly once`, async () => {
    const { project, key } = await createProject(db.pool, { name: 'scale' });
    const env = {
      DATABASE_URL: db.url,
      RATE_LIMIT_GLOBAL_PER_SEC: '0',
      RATE_LIMIT_PER_IP_PER_SEC: '0',
      RATE_LIMIT_PER_PROJECT_PER_SEC: '0',
    };
    const ingest = [await startServer(env, ['--no-worker']), await startServer(env, ['--no-worker'])];
    const workers = [await startServer(env, ['worker']), await startServer(env, ['worker'])];
    procs.push(...ingest, ...workers);
    let n = 0;
    const load = runLoad(() => ingest[n++ % 2]!.url, project.id, key.public_key, 32, EVENTS);
    await load.done();
    await waitForDrain(db.pool, 240_000);
    const acked = load.stats.acked;
    const { reports, missing, counted } = await checkExactlyOnce(db.pool, project.id, acked);
    expect(missing).toEqual([]);
    expect(reports).toBe(acked.size);
    expect(counted).toBe(reports);
    expect(acked.size).toBe(EVENTS);
    const expected = new Map<number, number>();
    for (const k of acked.values()) expected.set(k, (expected.get(k) ?? 0) + 1);
    const { rows } = await db.pool.query<{ title: string; event_count: number }>('SELECT title, event_count::int AS event_count FROM issue WHERE project_id = $1', [project.id]);
    expect(rows.length).toBe(KINDS);
    for (const r of rows) {
      const kind = Number(/ReliabilityError(\d+)/.exec(r.title)?.[1]);
      expect(r.event_count, r.title).toBe(expected.get(kind));
    }
  }, 300_000);
});
