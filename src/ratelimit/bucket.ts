// Token-bucket arithmetic, pure: the caller passes the time, so tests drive a fake clock.
//
// A bucket holds at most `capacity` tokens (rate × RATE_LIMIT_BURST_SECS) and refills at `rate`
// tokens per second; a request takes one token. Tokens may go below zero when other processes'
// consumption is debited (see sync.ts): the bucket then stays shut until the debt is repaid, so
// the long-run rate across processes still converges to `rate`.

export interface Bucket {
  tokens: number;
  /** Time of the last refill, in ms. */
  at: number;
  rate: number;
  capacity: number;
}

export function newBucket(rate: number, burstSecs: number, now: number): Bucket {
  const capacity = capacityOf(rate, burstSecs);
  return { tokens: capacity, at: now, rate, capacity };
}

/** At least one token, so a limit below 1/burst still lets a request through now and then. */
export function capacityOf(rate: number, burstSecs: number): number {
  return Math.max(1, rate * burstSecs);
}

/** Brings the bucket up to `now`. A clock going backwards adds nothing. */
export function refill(b: Bucket, now: number): void {
  if (now > b.at) {
    b.tokens = Math.min(b.capacity, b.tokens + ((now - b.at) / 1000) * b.rate);
    b.at = now;
  }
}

/** Changes the rate (a project override changed); tokens above the new capacity are dropped. */
export function setRate(b: Bucket, rate: number, burstSecs: number, now: number): void {
  if (b.rate === rate) return;
  refill(b, now);
  b.rate = rate;
  b.capacity = capacityOf(rate, burstSecs);
  b.tokens = Math.min(b.tokens, b.capacity);
}

/**
 * Whole seconds until the bucket holds one token again (Retry-After). SDKs parse the value with
 * parseInt, so a fraction would read as 0 = no back-off: round up, at least 1.
 */
export function secondsUntilToken(b: Bucket): number {
  if (b.tokens >= 1) return 0;
  return Math.max(1, Math.ceil((1 - b.tokens) / b.rate));
}

/** True when the bucket is full: it then says nothing a fresh bucket would not, and may be forgotten. */
export function isFull(b: Bucket, now: number): boolean {
  refill(b, now);
  return b.tokens >= b.capacity;
}

/**
 * Removes tokens spent elsewhere. The debt is floored at one bucket's worth so that a burst of
 * N processes overshooting together shuts the bucket for at most 2 × burst seconds, not N × burst.
 */
export function debit(b: Bucket, tokens: number, now: number): void {
  refill(b, now);
  b.tokens = Math.max(-b.capacity, b.tokens - tokens);
}
