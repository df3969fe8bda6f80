import { Refusal } from './refusal.js';

// Back-pressure: how many ingest requests may be between "admitted" (before authentication and
// before the body is read) and their answer, and how many body bytes they may hold, at once. A slow
// database makes requests wait for their commit; without this bound they would pile up in memory
// for as long as clients keep sending. Past either limit the request is answered 503 + Retry-After
// at once, without reading its body (outcome rate_limited, reason INGEST_MAX_PENDING_COMMITS or
// INGEST_MAX_PENDING_BYTES). The byte count is checked on entry: at most one body per admitted
// request is read past it, so the bytes held stay under the limit plus one body per request slot.

export interface AdmissionLimits {
  count: number;
  bytes: number;
}

export class Admission {
  private count = 0;
  private bytes = 0;

  constructor(private readonly limits: AdmissionLimits) {}

  /** Admits one request, or returns the refusal to answer it with. */
  enter(): Refusal | null {
    if (this.count >= this.limits.count) {
      return new Refusal('unavailable', `ingest is overloaded: ${this.count} requests are waiting for the database (INGEST_MAX_PENDING_COMMITS ${this.limits.count}); retry later`, 'INGEST_MAX_PENDING_COMMITS', { 'retry-after': '5' });
    }
    if (this.bytes >= this.limits.bytes) {
      return new Refusal('unavailable', `ingest is overloaded: ${this.bytes} bytes are waiting for the database (INGEST_MAX_PENDING_BYTES ${this.limits.bytes}); retry later`, 'INGEST_MAX_PENDING_BYTES', { 'retry-after': '5' });
    }
    this.count++;
    return null;
  }

  /** An admitted request now holds `n` more bytes (its body as read, then decompressed). */
  hold(n: number): void {
    this.bytes += n;
  }

  /** An admitted request was answered: frees its slot and the bytes it held. */
  leave(heldBytes: number): void {
    this.count--;
    this.bytes -= heldBytes;
  }

  get pending(): { count: number; bytes: number } {
    return { count: this.count, bytes: this.bytes };
  }
}
