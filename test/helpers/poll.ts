// Waiting for what the digest does asynchronously (it wakes within ~100 ms of new work): one poll
// helper for the tests that read its results back through the API.

/** Polls `fn` until `check` holds, failing with the last value after `ms`. */
export async function until<T>(what: string, fn: () => Promise<T>, check: (v: T) => boolean, ms = 30_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (check(v)) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(v).slice(0, 800)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
