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
  private readonly file = new URL('./prepare-thread.js', import.meta.url);

  /** Whether threads can run here: the compiled prepare-thread.js must exist (not under a .ts loader). */
  static available(): boolean {
    return existsSync(fileURLToPath(new URL('./prepare-thread.js', import.meta.url)));
  }

  constructor(readonly size: number, private readonly maps?: SourceMapOptions) {
    for (let i = 0; i < size; i++) this.spawn();
  }

  private spawn(): void {
    const t = new Thread(this.file, (dead) => {
      this.threads = this.threads.filter((x) => x !== dead);
      if (!this.closed) this.spawn();
    }, this.maps);
    this.threads.push(t);
  }

  run(rows: ArchiveRow[], maxBytes: number, rules: Record<number, ProjectRules> = {}, scrub: ScrubPlan = { maxDepth: 100, projects: {} }): Promise<Prepared> {
    // The least busy thread.
    const t = this.threads.reduce((a, b) => (b.pending.size < a.pending.size ? b : a));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
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
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.threads.map((t) => t.worker.terminate()));
  }
}
