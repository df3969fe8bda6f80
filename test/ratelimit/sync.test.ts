import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshDatabase, type TestDatabase } from '../helpers/db.js';
import { loadConfig } from '../../src/config/index.js';
import { createRateLimiter, type LocalRateLimiter } from '../../src/ratelimit/index.js';

// Several ingest processes on one database: two limiters with their own buckets exchange their
// spend through rate_limit_spend. Time is simulated (a shared fake clock); the exchange is called
// explicitly every 500 simulated ms, as the timer would.

let db: TestDatabase;
beforeAll(async () => {
  db = await freshDatabase();
});
afterAll(async () => {
  await db.drop();
});

function limiters(n: number, env: Record<string, string>) {
  let t = 5_000_000;
  const config = loadConfig({ RATE_LIMIT_GLOBAL_PER_SEC: '0', RATE_LIMIT_PER_IP_PER_SEC: '0', RATE_LIMIT_PER_PROJECT_PER_SEC: '0', RATE_LIMIT_BURST_SECS: '1', ...env }, '/nonexistent');
  const ls: LocalRateLimiter[] = [];
  for (let i = 0; i < n; i++) ls.push(createRateLimiter(config, db.pool, { now: () => t, syncMs: 0 }));
  return { ls, advance: (ms: number) => (t += ms) };
}

/** Offers `perStep` requests to each limiter every 100 ms for `secs`; returns how many passed in total. */
async function flood(ls: LocalRateLimiter[], advance: (ms: number) => void, secs: number, perStep: number, project = 1): Promise<number> {
  let passed = 0;
  for (let step = 1; step <= secs * 10; step++) {
    advance(100);
    for (const l of ls) for (let i = 0; i < perStep; i++) if (!l.check(`10.0.0.${i}`, project, null, ['error']).length) passed++;
    if (step % 5 === 0) for (const l of ls) await l.sync();
  }
  return passed;
}

describe('limits across processes', () => {
  it('two processes flooded together converge to the global limit, not twice it', async () => {
    const { ls, advance } = limiters(2, { RATE_LIMIT_GLOBAL_PER_SEC: '20' });
    const passed = await flood(ls, advance, 10, 20);
    // Alone, each would pass 20 (burst) + 10 s × 20/s = 220, so 440 together. With the exchange:
    // the limit's 200 + the two bursts (40) + what passes before the first debits land.
    expect(passed).toBeGreaterThanOrEqual(200);
    expect(passed).toBeLessThanOrEqual(300);
    // Sustained part only: another 10 s converges to the rate (within one sync period of overshoot per process).
    const more = await flood(ls, advance, 10, 20);
    expect(more).toBeGreaterThanOrEqual(180);
    expect(more).toBeLessThanOrEqual(220);
    for (const l of ls) await l.close();
  });

  it('per-project limits are shared; an unrelated project is not debited', async () => {
    const { ls, advance } = limiters(3, { RATE_LIMIT_PER_PROJECT_PER_SEC: '10' });
    const passed = await flood(ls, advance, 10, 10, 7);
    expect(passed).toBeGreaterThanOrEqual(100);
    expect(passed).toBeLessThanOrEqual(160); // alone: 3 × 110 = 330
    expect(ls[0]!.check('10.9.9.9', 8, null, ['error'])).toEqual([]);
    for (const l of ls) await l.close();
  });

  it('a process joining late debits only the latest spend it sees, not the others’ history', async () => {
    const { ls, advance } = limiters(1, { RATE_LIMIT_GLOBAL_PER_SEC: '1000' });
    await flood(ls, advance, 5, 100); // thousands of tokens spent by the first process
    const config = loadConfig({ RATE_LIMIT_GLOBAL_PER_SEC: '1000', RATE_LIMIT_PER_IP_PER_SEC: '0', RATE_LIMIT_PER_PROJECT_PER_SEC: '0', RATE_LIMIT_BURST_SECS: '1' }, '/nonexistent');
    const late = createRateLimiter(config, db.pool, { syncMs: 0 });
    await late.sync();
    expect(late.limits.active).toBe(false); // a process that has not ingested yet does not exchange
    expect(late.check('10.0.0.1', 1, null, ['error'])).toEqual([]);
    await late.sync();
    // Its bucket (1000) was debited the latest period's spend (≈ 500 ms at 1000/s), not the ~5000
    // the first process spent in all: roughly half a bucket is left.
    let passed = 0;
    for (let i = 0; i < 2000; i++) if (!late.check('10.0.0.1', 1, null, ['error']).length) passed++;
    expect(passed).toBeGreaterThanOrEqual(400);
    expect(passed).toBeLessThan(600);
    await late.close();
    await ls[0]!.close();
  });
});
