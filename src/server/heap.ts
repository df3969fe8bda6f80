import v8 from 'node:v8';

// How V8 sizes the heap of a server process. V8 lets the old generation grow to a multiple of what
// survived the last full GC, up to ~4x when allocation is fast; a draining digest worker allocates
// fast (parsed payloads, statement parameters), so its old generation grew to ~120 MB around
// ~25 MB of live data (peak RSS 263 MB draining the bench mix). A fixed 1.5x kept the peak at 149 MB
// for the same work; it costs more full GCs (63 instead of 13 per 50,000 events, 0.5 s instead of
// 0.1 s of pauses), small next to the young-generation GCs (see bin/crash-cache). V8 reads this at every full
// GC, so setting it at start-up works for every thread (flags are per process), whatever launched
// the process (bin/crash-cache's own flags, node bin/crash-cache, a process manager).
//
// The digest's prepare threads get a young generation of their own (resourceLimits). V8 lets the
// process-wide --max-semi-space-size (bin/crash-cache's 8 MB, for the main thread) override what a
// thread asks for, so until that flag is unset every prepare thread got 8 MB semi-spaces whatever it
// asked; the main thread is sized when the process starts and keeps its semi-spaces.
export function tuneHeap(): void {
  v8.setFlagsFromString('--heap-growing-percent=50');
  v8.setFlagsFromString('--max-semi-space-size=0');
}

/**
 * A prepare thread's young generation: 12 MB = 4 MB semi-spaces (V8 makes a young generation of 3
 * semi-spaces). Parsing payloads makes much short-lived garbage; with 8 MB semi-spaces it piled up:
 * a worker's peak RSS draining the same ~27,600 payloads of the bench mix, 3 alternating runs, was
 * 237–247 MB with 8 MB, 226–230 with 4 MB and 224–229 with 2 MB. CPU (bench/micro/prepare.ts, whole
 * process, 3 alternating runs): 29.4–35.3 s with 8 MB, 30.2–37.0 with 4 MB, 32.6–42.1 with 2 MB.
 */
export const PREPARE_YOUNG_GENERATION_MB = 12;
