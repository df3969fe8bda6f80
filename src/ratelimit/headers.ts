import type { RateLimitDecision } from './limits.js';

// The two headers of a 429 that SDKs act on (protocol notes §8). X-Sentry-Rate-Limits is
// `retry_after:categories:scope:reason_code`; empty categories = every category, so the SDK stops
// sending anything to this DSN for retry_after seconds. SDKs ignore scope and reason; the scope
// names are Sentry's (organization, project, key): our one global bucket is the organization's,
// and the per-address limit is closest to a key's.

const SENTRY_SCOPE = { global: 'organization', project: 'project', ip: 'key' } as const;

export function rateLimitHeaders(decision: RateLimitDecision): Record<string, string> {
  const secs = String(Math.max(1, Math.ceil(decision.retryAfterSecs)));
  return {
    'retry-after': secs,
    'x-sentry-rate-limits': `${secs}::${SENTRY_SCOPE[decision.scope]}:${decision.reason}`,
  };
}
