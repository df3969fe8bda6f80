import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { ArchiveRow } from '../archive/row.js';
import type { ProjectRules } from './project-rules.js';
import type { ScrubPlan } from '../scrub/settings.js';
import type { Prepared } from './prepare.js';
import { packRequest } from './prepare-message.js';
import { PREPARE_YOUNG_GENERATION_MB } from '../server/heap.js';

// Worker threads for the CPU half of the digest (decompress, parse, normalize, group: ~0.3–0.5 ms
// of CPU per event, against ~0.07 ms in PostgreSQL). With them, one worker process keeps a batch
// being prepared in a thread while its main thread writes another, and the HTTP server in the same
// process is not held up by digest parsing. A thread that dies is replaced; the batch it was
// preparing fails and is retried like any failed batch.
//
// Threads start with the first batch and stop after `idleMs` without one (WORKER_THREADS_IDLE_SECS):
// a thread holds its own V8 heap and copy of the digest's modules, ~15 MB in a fresh default process
// (idle RSS 110.8 → 95.8 MB without it) and ~25 MB once it has prepared traffic (160.9 → 134.4 MB
// after 10 s at 300 events/s), which a server without traffic for a while does not need. Starting
// one again costs the next batch a few tens of ms.

/** Where a thread reads source maps (the digest's database) and how much it may cache; none: no symbolication. */
export interface SourceMapOptions {
  dbUrl: string;
  cacheBytes: number;
}

interface Pending {
  resolve: (p: Prepared) => void;
  reject: (e: Error) => void;
}

class Thread {
  worker: Worker;
  pending = new Map<number, Pending>();
  /** Dictionary ids this thread holds (prepare-message.ts). */
  dicts = new Set<number>();
  constructor(file: URL, onExit: (t: Thread) => void, maps: SourceMapOptions | undefined) {
    // A small young generation: parsing makes much short-lived garbage (sized in src/server/heap.ts).
    this.worker = new Worker(file, { resourceLimits: { maxYoungGenerationSizeMb: PREPARE_YOUNG_GENERATION_MB }, workerData: maps ?? null });
    this.worker.unref();
    this.worker.on('message', (m: { id: number; result?: Prepared; error?: string; code?: unknown }) => {
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      if (m.error !== undefined) p.reject(Object.assign(new Error(`prepare thread: ${m.error}`), typeof m.code === 'string' ? { code: m.code } : {}));
      else p.resolve(m.result!);
    });
    const fail = (e: Error) => {
      for (const p of this.pending.values()) p.reject(e);
      this.pending.clear();
      onExit(this);
    };
    this.worker.on('error', fail);
    this.worker.on('exit', (code) => fail(new Error(`prepare thread exited with ${code}`)));
  }
}

export class PreparePool {
  private threads: Thread[] = [];
  private nextId = 1;
  private closed = false;
  private idleTimer: NodeJS.Timeout | null = null;
  private readonly file = new URL('./prepare-thread.js', import.meta.url);

  /** Whether threads can run here: the compiled prepare-thread.js must exist (not under a .ts loader). */
  static available(): boolean {
    return existsSync(fileURLToPath(new URL('./prepare-thread.js', import.meta.url)));
  }

  /** `idleMs`: how long threads may go without a batch before they stop (0: never). */
  constructor(readonly size: number, private readonly maps?: SourceMapOptions, private readonly idleMs = 0) {}

  /** Threads running now (they start with a batch, and stop after idleMs without one). */
  get running(): number {
    return this.threads.length;
  }

  private spawn(): void {
    // A thread that died is replaced by the next batch's call (its batch failed with it).
    const t = new Thread(this.file, (dead) => {
      this.threads = this.threads.filter((x) => x !== dead);
    }, this.maps);
    this.threads.push(t);
  }

  /** After a batch: with no other in flight, the threads stop once idleMs pass without one. */
  private settled(): void {
    if (this.closed || this.idleMs <= 0 || this.idleTimer || this.threads.some((t) => t.pending.size > 0)) return;
    this.idleTimer = setTimeout(() => {
      this.idleTimer = null;
      if (this.closed || this.threads.some((t) => t.pending.size > 0)) return;
      const idle = this.threads;
      this.threads = [];
      for (const t of idle) void t.worker.terminate();
    }, this.idleMs);
    this.idleTimer.unref();
  }

  run(rows: ArchiveRow[], maxBytes: number, rules: Record<number, ProjectRules> = {}, scrub: ScrubPlan = { maxDepth: 100, projects: {} }): Promise<Prepared> {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = null;
    while (this.threads.length < this.size) this.spawn();
    // The least busy thread.
    const t = this.threads.reduce((a, b) => (b.pending.size < a.pending.size ? b : a));
    const id = this.nextId++;
    const done = new Promise<Prepared>((resolve, reject) => {
      t.pending.set(id, { resolve, reject });
      try {
        const m = packRequest(id, rows, t.dicts, maxBytes, rules, scrub);
        t.worker.postMessage(m, [m.bytes]);
      } catch (e) {
        // Not sent: forget which dictionaries it holds (they are sent again), never the reverse.
        t.pending.delete(id);
        t.dicts.clear();
        reject(e as Error);
      }
    });
    const settle = () => this.settled();
    done.then(settle, settle);
    return done;
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.idleTimer) clearTimeout(this.idleTimer);
    await Promise.all(this.threads.map((t) => t.worker.terminate()));
  }
}
