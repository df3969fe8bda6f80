// A counting semaphore: at most `max` holders; the rest wait in FIFO order. Used to bound the
// compress/decompress work in flight (MAX_CONCURRENT_COMPRESSIONS), which bounds CPU and memory.

export class Semaphore {
  private active = 0;
  private waiting: (() => void)[] = [];
  /** the most holders at once since start (shown in /metrics: it never passes `max`) */
  peak = 0;
  /** how many had to wait for a slot since start */
  waited = 0;

  constructor(private readonly max: number) {}

  async run<T>(fn: () => T | Promise<T>): Promise<T> {
    if (this.active >= this.max) {
      this.waited++;
      await new Promise<void>((r) => this.waiting.push(r));
    } else if (++this.active > this.peak) this.peak = this.active;
    try {
      return await fn();
    } finally {
      const next = this.waiting.shift();
      // Hand the slot straight to the next waiter, so `active` never drops below the queue's need.
      if (next) next();
      else this.active--;
    }
  }

  get inUse(): number {
    return this.active;
  }

  get queued(): number {
    return this.waiting.length;
  }

  /**
   * Whether a slot is free now. Synchronous work done at once when one is counts within the bound
   * without taking the slot: nothing else runs until it returns.
   */
  get free(): boolean {
    return this.active < this.max;
  }
}
