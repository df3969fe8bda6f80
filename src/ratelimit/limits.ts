import { debit, isFull, newBucket, refill, secondsUntilToken, setRate, type Bucket } from './bucket.js';

// The buckets of one process: one global, one per project, one per client address. Memory is
// bounded: a full bucket is the same as no bucket, so `sweep` forgets every full one (idle keys
// expire after at most RATE_LIMIT_BURST_SECS of silence), and the per-address map is capped
// (least recently used evicted first; an evicted address starts again with a full bucket, which
// the global bucket still bounds).

export type Scope = 'global' | 'ip' | 'project' | 'key';

/**
 * A DSN key's own limit, as Sentry's key rate limit: at most `count` error events per `windowSecs`.
 * Kept as a token bucket of `count` tokens refilled at count/window per second (so over any window
 * at most 2 × count pass, the same bucket arithmetic as every other limit here).
 */
export interface KeyLimit {
  key: string;
  count: number;
  windowSecs: number;
}

/** The rate-limit categories a key's limit counts: Sentry's error categories (its key quota's). */
export const KEY_LIMIT_CATEGORIES: ReadonlySet<string> = new Set(['error', 'default', 'security']);

export interface RateLimitDecision {
  /** Seconds until the client may send again (Retry-After), whole, at least 1. */
  retryAfterSecs: number;
  scope: Scope;
  /** Why, for X-Sentry-Rate-Limits and the outcome's reason. */
  reason: `${Scope}_rate_limit`;
  /**
   * The rate-limit categories (protocol/categories.ts) refused; empty = every category. The global
   * and per-address buckets count requests and refuse everything; a project has one bucket per
   * category, so an SDK over its error quota keeps sending sessions and check-ins.
   */
  categories: string[];
}

export interface LimitSettings {
  globalPerSec: number;
  perIpPerSec: number;
  /** Per project and per rate-limit category. */
  perProjectPerSec: number;
  burstSecs: number;
  /** Most per-address buckets kept; 50,000 × ~150 bytes ≈ 7.5 MB. */
  maxIpBuckets?: number;
}

export const DEFAULT_MAX_IP_BUCKETS = 50_000;

/** Keys of buckets in the shared table (sync.ts): 'g', 'p:<project id>:<category>', 'i:<address>', 'k:<public key>'. */
export const GLOBAL_KEY = 'g';
export const keyBucketKey = (key: string) => `k:${key}`;
export const projectKey = (id: number, category: string) => `p:${id}:${category}`;
export const ipKey = (ip: string) => `i:${ip}`;

/** A project's bucket key without the 'p:' prefix: '<id>:<category>'; categories are from one closed table. */
const projectBucketKey = (id: number, category: string) => `${id}:${category}`;

export class Limits {
  private global: Bucket | null = null;
  private readonly projects = new Map<string, Bucket>();
  private readonly ips = new Map<string, Bucket>();
  private readonly keys = new Map<string, Bucket>();
  /** Tokens taken here since the last `takeSpent`, by bucket key: what other processes must debit. */
  private spent = new Map<string, number>();
  readonly maxIpBuckets: number;
  /** False until the first check: a process that never ingests (`crash-cache worker`) need not sync. */
  active = false;

  constructor(
    readonly settings: LimitSettings,
    private readonly now: () => number = Date.now,
    /** Whether spend is collected for other processes (false without a database: nobody takes it). */
    private readonly shareSpend = true,
  ) {
    this.maxIpBuckets = settings.maxIpBuckets ?? DEFAULT_MAX_IP_BUCKETS;
  }

  /**
   * Decides one request carrying items of `categories` (rate-limit categories, distinct; empty =
   * nothing that is limited, e.g. only client reports). Returns what is refused: [] = all allowed;
   * one decision with no categories = the whole request (a shut global or address bucket); else one
   * decision per refused category — the request is refused whole when they cover `categories`. A
   * request refused whole takes no token; otherwise one token is taken from the global and address
   * buckets and from the bucket of each allowed category, and one from the DSN key's bucket (`keyLimit`)
   * when an allowed category is one it counts (KEY_LIMIT_CATEGORIES).
   */
  check(ip: string, projectId: number, projectLimitPerSec: number | null, categories: readonly string[], keyLimit: KeyLimit | null = null): RateLimitDecision[] {
    const now = this.now();
    const s = this.settings;
    this.active = true;
    const g = s.globalPerSec > 0 ? (this.global ??= newBucket(s.globalPerSec, s.burstSecs, now)) : null;
    const i = s.perIpPerSec > 0 ? this.ipBucket(ip, now) : null;
    let whole: RateLimitDecision | null = null;
    for (const [b, scope] of [[g, 'global'], [i, 'ip']] as const) {
      if (!b) continue;
      refill(b, now);
      if (b.tokens >= 1) continue;
      const secs = secondsUntilToken(b);
      if (!whole || secs > whole.retryAfterSecs) whole = { retryAfterSecs: secs, scope, reason: `${scope}_rate_limit`, categories: [] };
    }
    const projectRate = projectLimitPerSec ?? s.perProjectPerSec;
    const refused: RateLimitDecision[] = [];
    const taken: [Bucket, string][] = [];
    // The key's bucket: one token per request carrying an error category, shut for all of them at once.
    const k = keyLimit ? this.keyBucket(keyLimit, now) : null;
    const keyShut = k !== null && k.tokens < 1;
    let anyAllowed = false;
    let keyUsed = false;
    for (const c of categories) {
      const byKey = k !== null && KEY_LIMIT_CATEGORIES.has(c);
      if (byKey && keyShut) {
        refused.push({ retryAfterSecs: secondsUntilToken(k), scope: 'key', reason: 'key_rate_limit', categories: [c] });
        continue;
      }
      if (projectRate > 0) {
        const b = this.projectBucket(projectId, c, projectRate, now);
        refill(b, now);
        if (b.tokens < 1) {
          refused.push({ retryAfterSecs: secondsUntilToken(b), scope: 'project', reason: 'project_rate_limit', categories: [c] });
          continue;
        }
        taken.push([b, projectKey(projectId, c)]);
      }
      anyAllowed = true;
      if (byKey) keyUsed = true;
    }
    if (keyUsed) taken.push([k!, keyBucketKey(keyLimit!.key)]);
    // Refused whole: the answer names the longest wait of any bucket that is shut, so the SDK does
    // not come back after a second only to meet the project's limit.
    if (whole) {
      const longest = refused.reduce((a, d) => (d.retryAfterSecs > a.retryAfterSecs ? d : a), whole);
      return [{ ...longest, categories: [] }];
    }
    if (refused.length && !anyAllowed) return refused;
    if (g) this.take(g, GLOBAL_KEY);
    if (i) this.take(i, ipKey(ip));
    for (const [b, key] of taken) this.take(b, key);
    return refused;
  }

  /** A key's bucket, refilled; its size and rate follow the key's current limit. */
  private keyBucket(l: KeyLimit, now: number): Bucket {
    const rate = l.count / l.windowSecs;
    let b = this.keys.get(l.key);
    if (!b) this.keys.set(l.key, (b = newBucket(rate, l.windowSecs, now)));
    refill(b, now);
    if (b.rate !== rate || b.capacity !== l.count) {
      b.rate = rate;
      b.capacity = Math.max(1, l.count);
      b.tokens = Math.min(b.tokens, b.capacity);
    }
    return b;
  }

  private take(b: Bucket, key: string): void {
    b.tokens -= 1;
    if (!this.shareSpend) return;
    const n = this.spent.get(key);
    // Bounded even if the exchange stalls: past the cap, new address keys go unshared.
    if (n === undefined && this.spent.size >= this.maxIpBuckets && key.startsWith('i:')) return;
    this.spent.set(key, (n ?? 0) + 1);
  }

  private projectBucket(id: number, category: string, rate: number, now: number): Bucket {
    const k = projectBucketKey(id, category);
    let b = this.projects.get(k);
    if (!b) this.projects.set(k, (b = newBucket(rate, this.settings.burstSecs, now)));
    else setRate(b, rate, this.settings.burstSecs, now);
    return b;
  }

  private ipBucket(ip: string, now: number): Bucket {
    let b = this.ips.get(ip);
    if (b) {
      // Re-insert to keep the map in least-recently-used order (Map iterates in insertion order).
      this.ips.delete(ip);
    } else {
      b = newBucket(this.settings.perIpPerSec, this.settings.burstSecs, now);
      if (this.ips.size >= this.maxIpBuckets) {
        const oldest = this.ips.keys().next().value as string;
        this.ips.delete(oldest);
      }
    }
    this.ips.set(ip, b);
    return b;
  }

  /** Hands over (and resets) the tokens taken here since the last call. */
  takeSpent(): Map<string, number> {
    const s = this.spent;
    this.spent = new Map();
    return s;
  }

  /**
   * Debits tokens another process took. The global and project buckets are made if missing (a
   * project's next request here then finds the debt; an override's rate replaces the default on
   * that check). Unknown addresses are skipped: a bucket made for a debit would cost memory for an
   * address that may never come here.
   */
  debit(key: string, tokens: number): void {
    const now = this.now();
    const s = this.settings;
    let b: Bucket | null | undefined;
    if (key === GLOBAL_KEY) b = s.globalPerSec > 0 ? (this.global ??= newBucket(s.globalPerSec, s.burstSecs, now)) : null;
    else if (key.startsWith('p:')) {
      const k = key.slice(2);
      b = this.projects.get(k);
      if (!b && s.perProjectPerSec > 0 && /^\d{1,15}:[a-z_]{1,40}$/.test(k)) this.projects.set(k, (b = newBucket(s.perProjectPerSec, s.burstSecs, now)));
    } else if (key.startsWith('i:')) b = this.ips.get(key.slice(2));
    else if (key.startsWith('k:')) b = this.keys.get(key.slice(2)); // as addresses: only keys this process has seen
    if (b) debit(b, tokens, now);
  }

  /** Forgets full buckets. */
  sweep(): void {
    const now = this.now();
    for (const [k, b] of this.projects) if (isFull(b, now)) this.projects.delete(k);
    for (const [k, b] of this.ips) if (isFull(b, now)) this.ips.delete(k);
    for (const [k, b] of this.keys) if (isFull(b, now)) this.keys.delete(k);
  }

  get sizes(): { ips: number; projects: number } {
    return { ips: this.ips.size, projects: this.projects.size };
  }
}
