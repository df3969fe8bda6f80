import type { RateLimitDecision } from './limits.js';

// The two headers SDKs act on (protocol notes §8). X-Sentry-Rate-Limits is a comma-separated list of
// `retry_after:categories:scope:reason_code`; categories are `;`-separated, empty = every category,
// so the SDK stops sending anything to this DSN for retry_after seconds. SDKs ignore scope and
// reason; the scope names are Sentry's (organization, project, key): our one global bucket is the
// organization's, and the per-address limit is closest to a key's (a DSN key's own limit is one). It goes on a 429 (everything
// refused) and on a 200 whose envelope lost some items to a category's limit, as Relay sends it.

const SENTRY_SCOPE = { global: 'organization', project: 'project', ip: 'key', key: 'key' } as const;

const whole = (secs: number) => String(Math.max(1, Math.ceil(secs)));

export function rateLimitHeaders(decisions: readonly RateLimitDecision[]): Record<string, string> {
  const secs = whole(Math.max(...decisions.map((d) => d.retryAfterSecs)));
  return {
    'retry-after': secs,
    'x-sentry-rate-limits': decisions.map((d) => `${whole(d.retryAfterSecs)}:${d.categories.join(';')}:${SENTRY_SCOPE[d.scope]}:${d.reason}`).join(', '),
  };
}
