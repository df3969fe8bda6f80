import { randomUUID } from 'node:crypto';
import type { Config } from '../config/index.js';
import type { Logger } from '../log.js';
import type pg from 'pg';
import { Limits, type KeyLimit, type RateLimitDecision } from './limits.js';
import { SpendSync, SYNC_MS } from './sync.js';
import { ipBucketKey, parseTrustedProxies } from './client-ip.js';

// Token-bucket rate limits (global, per client address, per project), decided in memory on the
// request path and reconciled across processes through the database every SYNC_MS (sync.ts has
// the scheme and its error bound). Ingest calls `check` after authenticating the key and before
// reading the body, and answers 429 with `rateLimitHeaders(decision)`.

export type { KeyLimit, RateLimitDecision, Scope } from './limits.js';
export { rateLimitHeaders } from './headers.js';
export { clientIp } from './client-ip.js';

export interface RateLimiter {
  /** What is refused of a request carrying these rate-limit categories (Limits.check): [] = all allowed. */
  check(ip: string, projectId: number, projectLimitPerSec: number | null, categories: readonly string[], keyLimit?: KeyLimit | null): RateLimitDecision[];
  close(): Promise<void>;
}

export interface RateLimiterOptions {
  log?: Logger;
  /** Clock in ms (tests); default Date.now. */
  now?: () => number;
  /** Period of the cross-process exchange; 0 = do not run it on a timer (tests call `sync`). */
  syncMs?: number;
  maxIpBuckets?: number;
}

/** The limiter plus what tests need to look inside. */
export interface LocalRateLimiter extends RateLimiter {
  limits: Limits;
  /** One exchange with the other processes now (null without a pool). */
  sync(): Promise<void>;
  processId: string;
}

const SWEEP_MS = 10_000;

export function createRateLimiter(config: Readonly<Config>, pool: pg.Pool | null, opts: RateLimiterOptions = {}): LocalRateLimiter {
  // Fail at start-up, naming the setting, rather than on the first forwarded request.
  parseTrustedProxies(config.trustedProxies);
  const limits = new Limits(
    {
      globalPerSec: config.rateLimitGlobalPerSec,
      perIpPerSec: config.rateLimitPerIpPerSec,
      perProjectPerSec: config.rateLimitPerProjectPerSec,
      burstSecs: config.rateLimitBurstSecs,
      maxIpBuckets: opts.maxIpBuckets,
    },
    opts.now,
    pool !== null,
  );
  const processId = randomUUID();
  const sync = pool ? new SpendSync(pool, limits, processId, opts.now) : null;
  const syncMs = opts.syncMs ?? SYNC_MS;
  let lastError = 0;
  const exchange = () =>
    sync
      ?.run()
      .catch((e: Error) => {
        // Database trouble must not take ingest down: keep deciding locally, say so once a minute.
        if (Date.now() - lastError > 60_000) {
          lastError = Date.now();
          opts.log?.warn('rate-limit sync failed; limits are per process until it recovers', { error: e.message });
        }
      });
  const timers: NodeJS.Timeout[] = [setInterval(() => limits.sweep(), SWEEP_MS)];
  if (sync && syncMs > 0) timers.push(setInterval(() => void exchange(), syncMs));
  for (const t of timers) t.unref();
  return {
    limits,
    processId,
    check: (ip, projectId, projectLimitPerSec, categories, keyLimit) => limits.check(ipBucketKey(ip), projectId, projectLimitPerSec, categories, keyLimit ?? null),
    sync: async () => {
      await sync?.run();
    },
    async close() {
      for (const t of timers) clearInterval(t);
      await exchange();
    },
  };
}
