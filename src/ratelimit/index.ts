import type { IncomingMessage } from 'node:http';
import type { Config } from '../config/index.js';
import type pg from 'pg';

// Token-bucket rate limits (global, per client IP, per project). Placeholder: the rate-limit work
// fills it in; until then nothing is limited.

export interface RateLimitDecision {
  /** Seconds until the client may send again (Retry-After). */
  retryAfterSecs: number;
  scope: 'global' | 'ip' | 'project';
}

export interface RateLimiter {
  /** null = allowed (and a token is taken); otherwise the request must get a 429. */
  check(ip: string, projectId: number, projectLimitPerSec: number | null): RateLimitDecision | null;
  close(): Promise<void>;
}

export function createRateLimiter(_config: Readonly<Config>, _pool: pg.Pool): RateLimiter {
  return { check: () => null, close: async () => {} };
}

/** The client's address: the socket's, or a trusted proxy's X-Forwarded-For / Forwarded hop. */
export function clientIp(req: IncomingMessage, _config: Readonly<Config>): string {
  return req.socket.remoteAddress ?? '';
}
