import type { AppContext } from '../server/context.js';

// Placeholder until the digest lands: claims queued payloads and digests them.
export function startWorker(_ctx: AppContext): { wake(): void; stop(): Promise<void> } {
  return { wake() {}, stop: async () => {} };
}
