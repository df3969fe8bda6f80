import { spawn, type ChildProcess } from 'node:child_process';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { PACKAGE_ROOT } from '../../src/paths.js';

// Runs the built server (bin/crash-cache → dist/) as a real child process on a free port, and the
// CLI as a real command: tests talk to them over real HTTP. `npm test` builds dist/ first.

export interface RunningServer {
  url: string;
  port: number;
  proc: ChildProcess;
  logs: string[];
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export async function startServer(env: Record<string, string>, args: string[] = []): Promise<RunningServer> {
  const proc = spawn(process.execPath, [join(PACKAGE_ROOT, 'bin', 'crash-cache'), ...args], {
    env: { ...process.env, SERVER_HOST: '127.0.0.1', SERVER_PORT: '0', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: string[] = [];
  const port = await new Promise<number>((resolve, reject) => {
    let buf = '';
    const timer = setTimeout(() => reject(new Error(`server did not start in 60 s:\n${logs.join('\n')}`)), 60_000);
    const onData = (d: Buffer) => {
      buf += d.toString();
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        logs.push(line);
        if (logs.length > 2000) logs.shift();
        try {
          const j = JSON.parse(line) as { msg?: string; port?: number };
          if ((j.msg === 'listening' && j.port) || j.msg === 'worker running') {
            clearTimeout(timer);
            resolve(j.port ?? 0);
          }
        } catch {
          /* not JSON */
        }
      }
    };
    proc.stderr!.on('data', onData);
    proc.stdout!.on('data', (d: Buffer) => logs.push(d.toString()));
    proc.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code} before listening:\n${logs.join('\n')}`));
    });
  });
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    proc,
    logs,
    stop(signal: NodeJS.Signals = 'SIGTERM') {
      return new Promise((resolve) => {
        if (proc.exitCode !== null || proc.signalCode !== null) return resolve(proc.exitCode);
        proc.once('exit', (code) => resolve(code));
        proc.kill(signal);
      });
    },
  };
}

const execFileP = promisify(execFile);

/** Runs bin/crash-cache-cli with the given environment; resolves with its stdout (rejects on non-zero exit). */
export async function cli(args: string[], env: Record<string, string>): Promise<string> {
  try {
    const { stdout } = await execFileP(process.execPath, [join(PACKAGE_ROOT, 'bin', 'crash-cache-cli'), ...args], {
      env: { ...process.env, ...env },
      timeout: 60_000,
    });
    return stdout;
  } catch (e) {
    const err = e as { code?: number; stdout?: string; stderr?: string };
    throw new Error(`crash-cache-cli ${args.join(' ')} exited with ${err.code}: ${err.stdout ?? ''}${err.stderr ?? ''}`);
  }
}
