import { Symbolicator } from './resolve.js';

// The symbolicator of this process's main thread (the read side: API and UI through loadEvent, the
// grouping explanations, and the digest when it runs without threads); each prepare thread has its own.

let cacheBytes = 64 * 1024 * 1024;
let shared: Symbolicator | null = null;

/** Sets its cache size (SOURCEMAP_CACHE_BYTES); called at start-up. */
export function configureSymbolication(bytes: number): void {
  cacheBytes = bytes;
  shared = null;
}

export function sharedSymbolicator(): Symbolicator {
  return (shared ??= new Symbolicator(cacheBytes));
}
