import { describe, expect, it } from 'vitest';
import { Limits, type LimitSettings } from '../../src/ratelimit/limits.js';
import { newBucket, refill, secondsUntilToken, debit } from '../../src/ratelimit/bucket.js';
import { rateLimitHeaders } from '../../src/ratelimit/headers.js';
import { updateRateLimits, isRateLimited } from '@sentry/core';

// Bucket arithmetic and each limit kind, on a fake clock: no sleeps, no timing.

function clock(start = 1_000_000) {
  let t = start;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

const OFF: LimitSettings = { globalPerSec: 0, perIpPerSec: 0, perProjectPerSec: 0, burstSecs: 1 };

/** One request carrying errors: its first refusal, or null when it passes. */
const check1 = (l: Limits, ip: string, project: number, override: number | null) => l.check(ip, project, override, ['error'])[0] ?? null;

/** How many of `n` requests pass right now. */
function admit(l: Limits, n: number, ip = '10.0.0.1', project = 1, override: number | null = null): number {
  let ok = 0;
  for (let i = 0; i < n; i++) if (!check1(l, ip, project, override)) ok++;
  return ok;
}

describe('token bucket', () => {
  it('starts full, refills at the rate, never above capacity', () => {
    const b = newBucket(5, 2, 0); // capacity 10
    expect(b.tokens).toBe(10);
    b.tokens = 0;
    refill(b, 1000);
    expect(b.tokens).toBe(5);
    refill(b, 60_000);
    expect(b.tokens).toBe(10);
    refill(b, 1000); // clock going back adds nothing
    expect(b.tokens).toBe(10);
  });

  it('retry-after is whole seconds until one token, at least 1', () => {
    const b = newBucket(4, 1, 0);
    b.tokens = 0.9;
    expect(secondsUntilToken(b)).toBe(1);
    b.tokens = -7; // 8 tokens short at 4/s = 2 s
    expect(secondsUntilToken(b)).toBe(2);
    b.tokens = -7.5;
    expect(secondsUntilToken(b)).toBe(3);
    const slow = newBucket(0.1, 10, 0);
    slow.tokens = 0;
    expect(secondsUntilToken(slow)).toBe(10);
  });

  it('debt from other processes is floored at one bucket', () => {
    const b = newBucket(10, 1, 0);
    debit(b, 1000, 0);
    expect(b.tokens).toBe(-10);
    expect(secondsUntilToken(b)).toBe(2);
  });
});

describe('limits', () => {
  it('global: burst of rate × burst seconds, then the rate', () => {
    const c = clock();
    const l = new Limits({ ...OFF, globalPerSec: 5, burstSecs: 3 }, c.now);
    expect(admit(l, 100)).toBe(15);
    const d = check1(l, '10.0.0.2', 2, null);
    expect(d).toEqual({ retryAfterSecs: 1, scope: 'global', reason: 'global_rate_limit', categories: [] });
    c.advance(1000);
    expect(admit(l, 100, '10.0.0.3', 3)).toBe(5);
    c.advance(10_000);
    expect(admit(l, 100)).toBe(15);
  });

  it('per address: one address is limited, another is not', () => {
    const c = clock();
    const l = new Limits({ ...OFF, perIpPerSec: 2, burstSecs: 1 }, c.now);
    expect(admit(l, 10, '10.0.0.1')).toBe(2);
    expect(check1(l, '10.0.0.1', 1, null)?.scope).toBe('ip');
    expect(admit(l, 10, '10.0.0.2')).toBe(2);
    c.advance(500);
    expect(admit(l, 10, '10.0.0.1')).toBe(1);
  });

  it('per project, with overrides: null = the setting, 0 = unlimited, N = N', () => {
    const c = clock();
    const l = new Limits({ ...OFF, perProjectPerSec: 3, burstSecs: 1 }, c.now);
    expect(admit(l, 10, 'a', 1, null)).toBe(3);
    expect(check1(l, 'b', 1, null)).toMatchObject({ scope: 'project', reason: 'project_rate_limit' });
    expect(admit(l, 10, 'a', 2, 0)).toBe(10);
    expect(admit(l, 10, 'a', 3, 7)).toBe(7);
    // Raising project 1's limit takes effect on the next check; its bucket refills at the new rate.
    c.advance(1000);
    expect(admit(l, 100, 'a', 1, 20)).toBe(3);
    c.advance(1000);
    expect(admit(l, 100, 'a', 1, 20)).toBe(20);
    // Lowering it drops tokens above the new capacity.
    c.advance(5000);
    expect(admit(l, 100, 'a', 1, 2)).toBe(2);
  });

  it('a refused request takes no token from any bucket', () => {
    const c = clock();
    const l = new Limits({ globalPerSec: 10, perIpPerSec: 1, perProjectPerSec: 10, burstSecs: 1 }, c.now);
    expect(admit(l, 1, 'x')).toBe(1);
    expect(admit(l, 50, 'x')).toBe(0); // address x is shut; global and project keep their tokens
    expect(admit(l, 9, 'y')).toBe(1);
    expect(admit(l, 8, 'z1') + admit(l, 8, 'z2') + admit(l, 8, 'z3')).toBe(3);
    expect(l.takeSpent()).toEqual(new Map([['g', 5], ['p:1:error', 5], ['i:x', 1], ['i:y', 1], ['i:z1', 1], ['i:z2', 1], ['i:z3', 1]]));
  });

  it('answers with the longest wait when several limits are hit', () => {
    const c = clock();
    const l = new Limits({ globalPerSec: 100, perIpPerSec: 1, perProjectPerSec: 1, burstSecs: 1 }, c.now);
    check1(l, 'x', 1, null);
    l.debit('p:1:error', 5); // another process used project 1 heavily: debt floored at −1 token → 2 s at 1/s
    const d = check1(l, 'x', 1, null);
    expect(d).toMatchObject({ scope: 'project', retryAfterSecs: 2 });
  });

  it('debits from other processes: global and project buckets are made if missing, unknown addresses skipped', () => {
    const c = clock();
    const l = new Limits({ globalPerSec: 0, perIpPerSec: 5, perProjectPerSec: 5, burstSecs: 2 }, c.now);
    l.debit('p:9:error', 10); // project 9 spent its whole bucket elsewhere
    l.debit('i:10.0.0.1', 10);
    expect(check1(l, '10.0.0.1', 9, null)).toMatchObject({ scope: 'project', retryAfterSecs: 1 });
    expect(check1(l, '10.0.0.1', 8, null)).toBeNull(); // the address had no bucket here: not debited
    expect(l.sizes).toEqual({ ips: 1, projects: 2 });
  });

  it('all limits 0 = nothing is limited', () => {
    const l = new Limits(OFF, clock().now);
    expect(admit(l, 10_000)).toBe(10_000);
  });

  it('per-address memory is bounded: least recently used evicted, full buckets swept', () => {
    const c = clock();
    const l = new Limits({ ...OFF, perIpPerSec: 1, burstSecs: 1, maxIpBuckets: 100 }, c.now);
    for (let i = 0; i < 10_000; i++) check1(l, `10.1.${i >> 8}.${i & 255}`, 1, null);
    expect(l.sizes.ips).toBe(100);
    // Spend waiting for the next exchange is bounded too.
    expect(l.takeSpent().size).toBe(100);
    const unshared = new Limits({ ...OFF, perIpPerSec: 1, burstSecs: 1 }, c.now, false);
    admit(unshared, 10, 'a');
    expect(unshared.takeSpent().size).toBe(0);
    // The most recent addresses are still held (and limited); the first were evicted.
    expect(check1(l, '10.1.39.15', 1, null)?.scope).toBe('ip'); // i = 9999
    expect(check1(l, '10.1.0.0', 1, null)).toBeNull();
    c.advance(1000); // idle long enough to refill: a full bucket is forgotten
    l.sweep();
    expect(l.sizes.ips).toBe(0);
    expect(l.sizes.projects).toBe(0);
  });
});

describe('rate-limit headers', () => {
  it('are what SDKs parse: retry_after, all categories, scope, reason', () => {
    const h = rateLimitHeaders([{ retryAfterSecs: 2, scope: 'project', reason: 'project_rate_limit', categories: [] }]);
    expect(h).toEqual({ 'retry-after': '2', 'x-sentry-rate-limits': '2::project:project_rate_limit' });
    expect(rateLimitHeaders([{ retryAfterSecs: 0.2, scope: 'global', reason: 'global_rate_limit', categories: [] }])['x-sentry-rate-limits']).toBe('1::organization:global_rate_limit');
    // The installed SDK's own parser: every category is limited for 2 s.
    const now = 1_000_000;
    const limits = updateRateLimits({}, { statusCode: 429, headers: h }, now);
    for (const cat of ['error', 'transaction', 'session', 'attachment', 'internal']) {
      expect(isRateLimited(limits, cat as never, now + 1999)).toBe(true);
      expect(isRateLimited(limits, cat as never, now + 2000)).toBe(false);
    }
  });

  it('name the refused categories, so the SDK holds back only those', () => {
    const h = rateLimitHeaders([
      { retryAfterSecs: 3, scope: 'project', reason: 'project_rate_limit', categories: ['error'] },
      { retryAfterSecs: 1.5, scope: 'project', reason: 'project_rate_limit', categories: ['transaction'] },
    ]);
    expect(h).toEqual({ 'retry-after': '3', 'x-sentry-rate-limits': '3:error:project:project_rate_limit, 2:transaction:project:project_rate_limit' });
    const now = 1_000_000;
    const limits = updateRateLimits({}, { statusCode: 200, headers: h }, now);
    expect(isRateLimited(limits, 'error' as never, now + 2999)).toBe(true);
    expect(isRateLimited(limits, 'transaction' as never, now + 1999)).toBe(true);
    expect(isRateLimited(limits, 'transaction' as never, now + 2000)).toBe(false);
    for (const cat of ['session', 'monitor', 'attachment']) expect(isRateLimited(limits, cat as never, now + 1)).toBe(false);
  });
});

describe('per-category project limits', () => {
  it('each category has its own bucket: errors over their quota do not stop sessions or check-ins', () => {
    const l = new Limits({ ...OFF, perProjectPerSec: 2, burstSecs: 1 }, clock().now);
    expect(l.check('a', 1, null, ['error'])).toEqual([]);
    expect(l.check('a', 1, null, ['error'])).toEqual([]);
    // Errors are shut; an envelope with an error and a session keeps its session.
    expect(l.check('a', 1, null, ['error', 'session'])).toEqual([{ retryAfterSecs: 1, scope: 'project', reason: 'project_rate_limit', categories: ['error'] }]);
    expect(l.check('a', 1, null, ['monitor'])).toEqual([]);
    // Only errors: refused whole, naming the category; no token taken anywhere.
    expect(l.check('a', 1, null, ['error'])).toEqual([{ retryAfterSecs: 1, scope: 'project', reason: 'project_rate_limit', categories: ['error'] }]);
    expect(l.takeSpent()).toEqual(new Map([['p:1:error', 2], ['p:1:session', 1], ['p:1:monitor', 1]]));
    // Nothing that is limited (only client reports): always allowed.
    expect(l.check('a', 1, null, [])).toEqual([]);
  });

  it('a shut global or address bucket refuses every category and takes nothing', () => {
    const l = new Limits({ globalPerSec: 0, perIpPerSec: 1, perProjectPerSec: 5, burstSecs: 1 }, clock().now);
    expect(l.check('a', 1, null, ['error', 'session'])).toEqual([]);
    expect(l.check('a', 1, null, ['session'])).toEqual([{ retryAfterSecs: 1, scope: 'ip', reason: 'ip_rate_limit', categories: [] }]);
    expect(l.takeSpent()).toEqual(new Map([['i:a', 1], ['p:1:error', 1], ['p:1:session', 1]]));
  });

  it('debits of other processes land on the category named; malformed keys are ignored', () => {
    const l = new Limits({ ...OFF, perProjectPerSec: 1, burstSecs: 1 }, clock().now);
    l.debit('p:3:error', 1);
    l.debit('p:3', 1); // the key form of an older version: not ours to guess
    l.debit('p:3:Error; DROP', 1);
    expect(l.check('a', 3, null, ['error', 'session'])[0]?.categories).toEqual(['error']);
    expect(l.sizes.projects).toBe(2);
  });
});
