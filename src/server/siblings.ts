import { spawn, type ChildProcess } from 'node:child_process';
import type { Logger } from '../log.js';

// HTTP_PROCESSES > 1: the first `crash-cache` process listens with reusePort (Linux SO_REUSEPORT) and
// starts the others, which listen on the same port the same way, so the kernel spreads connections over
// them: one ingest process per core without a proxy or the cluster module's hand-off through the first.
// They are the same bin/crash-cache with `--http-sibling` (HTTP only: no digest worker, no METRICS_PORT),
// the port the first one got (SERVER_PORT=0 included) and its database (the embedded one's URL, so they
// share it instead of starting their own). The first supervises them: one that exits is started again,
// after a pause that doubles while it keeps dying young (a bad setting must not spin); stop() ends them
// all. An IPC channel ties each to the first: when it goes (even killed with SIGKILL) they shut down.

const FIRST_PAUSE_MS = 100;
const MAX_PAUSE_MS = 30_000;
/** A process that lived this long is healthy: the next restart comes after the first pause again. */
const HEALTHY_AFTER_MS = 10_000;

export interface Siblings {
  /** The pids of the siblings running now. */
  pids(): number[];
  /** SIGTERM to each (they finish their requests as on any shutdown); resolves when all have exited. */
  stop(): Promise<void>;
}

export function startSiblings(o: { count: number; port: number; databaseUrl: string; log: Logger }): Siblings {
  let stopping = false;
  const running = new Set<ChildProcess>();
  const timers = new Set<NodeJS.Timeout>();

  const start = (pause: number): void => {
    const child = spawn(process.execPath, [...process.execArgv, process.argv[1]!, '--http-sibling'], {
      env: { ...process.env, SERVER_PORT: String(o.port), DATABASE_URL: o.databaseUrl },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const started = Date.now();
    running.add(child);
    child.once('error', (e) => o.log.error('http process failed to start', { error: String(e) }));
    child.once('exit', (code, signal) => {
      running.delete(child);
      if (stopping) return;
      const next = Date.now() - started >= HEALTHY_AFTER_MS ? FIRST_PAUSE_MS : Math.min(MAX_PAUSE_MS, pause * 2);
      o.log.error('http process exited; starting another', { pid: child.pid, code, signal, after_ms: next });
      const t = setTimeout(() => {
        timers.delete(t);
        if (!stopping) start(next);
      }, next);
      timers.add(t);
    });
  };
  for (let i = 0; i < o.count; i++) start(FIRST_PAUSE_MS / 2);

  return {
    pids: () => [...running].map((c) => c.pid!).filter(Boolean),
    async stop() {
      stopping = true;
      for (const t of timers) clearTimeout(t);
      await Promise.all([...running].map((c) => new Promise<void>((resolve) => {
        if (c.exitCode !== null || c.signalCode !== null) return resolve();
        c.once('exit', () => resolve());
        c.kill('SIGTERM');
      })));
    },
  };
}
