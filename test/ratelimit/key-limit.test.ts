import { describe, expect, it } from 'vitest';
import { updateRateLimits, isRateLimited } from '@sentry/core';
import { Limits, type KeyLimit, type LimitSettings } from '../../src/ratelimit/limits.js';
import { rateLimitHeaders } from '../../src/ratelimit/headers.js';

// A DSN key's own rate limit (Sentry's key quota: error events per window), on a fake clock.

function clock(start = 1_000_000) {
  let t = start;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

const OFF: LimitSettings = { globalPerSec: 0, perIpPerSec: 0, perProjectPerSec: 0, burstSecs: 1 };
const KEY: KeyLimit = { key: 'abc', count: 2, windowSecs: 60 };

describe('key rate limit', () => {
  it('lets `count` error events through, then refuses errors for the time one more takes to accrue', () => {
    const c = clock();
    const l = new Limits(OFF, c.now);
    expect(l.check('ip', 1, null, ['error'], KEY)).toEqual([]);
    expect(l.check('ip', 1, null, ['error'], KEY)).toEqual([]);
    const refused = l.check('ip', 1, null, ['error'], KEY);
    // 2 per 60 s: one token every 30 s
    expect(refused).toEqual([{ retryAfterSecs: 30, scope: 'key', reason: 'key_rate_limit', categories: ['error'] }]);
    const headers = rateLimitHeaders(refused);
    expect(headers['x-sentry-rate-limits']).toBe('30:error:key:key_rate_limit');
    // An SDK reads it as a limit on errors only.
    const limits = updateRateLimits({}, { statusCode: 429, headers: { 'x-sentry-rate-limits': headers['x-sentry-rate-limits'], 'retry-after': headers['retry-after'] } }, c.now());
    expect(isRateLimited(limits, 'error', c.now())).toBe(true);
    expect(isRateLimited(limits, 'session', c.now())).toBe(false);
    c.advance(30_000);
    expect(l.check('ip', 1, null, ['error'], KEY)).toEqual([]);
    expect(l.check('ip', 1, null, ['error'], KEY)).toHaveLength(1);
  });

  it('counts error categories only: sessions pass and take no token; an envelope keeps its other items', () => {
    const l = new Limits(OFF, clock().now);
    for (let i = 0; i < 10; i++) expect(l.check('ip', 1, null, ['session', 'monitor'], KEY)).toEqual([]);
    expect(l.check('ip', 1, null, ['security'], KEY)).toEqual([]);
    expect(l.check('ip', 1, null, ['default', 'session'], KEY)).toEqual([]);
    expect(l.check('ip', 1, null, ['error', 'session'], KEY)).toEqual([{ retryAfterSecs: 30, scope: 'key', reason: 'key_rate_limit', categories: ['error'] }]);
  });

  it('each key has its own bucket; without a limit nothing is refused; a changed limit applies at once', () => {
    const l = new Limits(OFF, clock().now);
    for (let i = 0; i < 2; i++) l.check('ip', 1, null, ['error'], KEY);
    expect(l.check('ip', 1, null, ['error'], KEY)).toHaveLength(1);
    expect(l.check('ip', 1, null, ['error'], { ...KEY, key: 'other' })).toEqual([]);
    expect(l.check('ip', 1, null, ['error'], null)).toEqual([]);
    // A larger window at the same count: the wait grows with it.
    expect(l.check('ip', 1, null, ['error'], { ...KEY, windowSecs: 600 })[0]!.retryAfterSecs).toBe(300);
  });

  it('with the project\'s own limit too, the longest wait is named and both buckets are spent only when allowed', () => {
    const l = new Limits({ ...OFF, perProjectPerSec: 1, burstSecs: 1 }, clock().now);
    expect(l.check('ip', 1, null, ['error'], { key: 'k', count: 100, windowSecs: 60 })).toEqual([]);
    expect(l.check('ip', 1, null, ['error'], { key: 'k', count: 100, windowSecs: 60 })).toEqual([{ retryAfterSecs: 1, scope: 'project', reason: 'project_rate_limit', categories: ['error'] }]);
  });

  it('other processes\' spend on a key is debited only from keys this process has seen', () => {
    const l = new Limits(OFF, clock().now);
    l.debit('k:unseen', 100);
    expect(l.check('ip', 1, null, ['error'], { ...KEY, key: 'unseen' })).toEqual([]);
    l.debit('k:abc', 0);
    l.check('ip', 1, null, ['error'], KEY); // seen now, one token left
    l.debit('k:abc', 1);
    expect(l.check('ip', 1, null, ['error'], KEY)).toHaveLength(1);
    expect([...l.takeSpent().keys()]).toContain('k:abc');
  });
});
