import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { PACKAGE_ROOT } from '../../src/paths.js';

// Runs `crash-cache worker` (the built dist/) as a real child process, and collects its JSON logs.

export interface WorkerProcess {
  proc: ChildProcess;
  logs: Record<string, unknown>[];
  stop(signal?: NodeJS.Signals): Promise<void>;
}

export function spawnWorker(env: Record<string, string>): Promise<WorkerProcess> {
  const proc = spawn(process.execPath, [join(PACKAGE_ROOT, 'bin', 'crash-cache'), 'worker'], {
    env: { ...process.env, LOG_LEVEL: 'debug', ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const logs: Record<string, unknown>[] = [];
  return new Promise((resolve, reject) => {
    let buf = '';
    const timer = setTimeout(() => reject(new Error(`worker did not start in 60 s: ${JSON.stringify(logs)}`)), 60_000);
    proc.stderr!.on('data', (d: Buffer) => {
      buf += d.toString();
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        try {
          const j = JSON.parse(line) as Record<string, unknown>;
          logs.push(j);
          if (j.msg === 'worker running') {
            clearTimeout(timer);
            resolve({
              proc,
              logs,
              stop: (signal: NodeJS.Signals = 'SIGTERM') =>
                new Promise<void>((res) => {
                  if (proc.exitCode !== null || proc.signalCode !== null) return res();
                  proc.once('exit', () => res());
                  proc.kill(signal);
                }),
            });
          }
        } catch {
          logs.push({ text: line });
        }
      }
    });
    proc.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`worker exited with ${code}: ${JSON.stringify(logs)}`));
    });
  });
}

/** Polls `check` every 50 ms until it returns true (or fails after `timeoutMs`). */
export async function until(check: () => Promise<boolean>, timeoutMs = 120_000, what = 'condition'): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
