import v8 from 'node:v8';

// How V8 sizes the heap of a server process. V8 lets the old generation grow to a multiple of what
// survived the last full GC, up to ~4x when allocation is fast; a draining digest worker allocates
// fast (parsed payloads, statement parameters), so its old generation grew to ~120 MB around
// ~25 MB of live data (peak RSS 263 MB draining the bench mix). A fixed 1.5x kept the peak at 149 MB
// for the same work; it costs more full GCs (63 instead of 13 per 50,000 events, 0.5 s instead of
// 0.1 s of pauses), small next to the young-generation GCs (see bin/crash-cache). V8 reads this at every full
// GC, so setting it at start-up works for every thread (flags are per process), whatever launched
// the process (bin/crash-cache's own flags, node bin/crash-cache, a process manager).
export function tuneHeap(): void {
  v8.setFlagsFromString('--heap-growing-percent=50');
}
