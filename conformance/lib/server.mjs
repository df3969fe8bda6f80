// Starts the built server (bin/crash-cache → dist/) as a child process on a free port and runs the
// CLI (bin/crash-cache-cli) against the same DATA_DIR, as a user would. A copy of the idea in
// test/helpers/server.ts: the suite must not depend on test code.
import { execFile, spawn } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';

const execFileP = promisify(execFile);

export async function startServer(root, env) {
  const proc = spawn(process.execPath, [join(root, 'bin', 'crash-cache')], {
    env: { ...process.env, SERVER_HOST: '127.0.0.1', SERVER_PORT: '0', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs = [];
  const port = await new Promise((resolve, reject) => {
    let buf = '';
    const timer = setTimeout(() => reject(new Error(`server did not start in 60 s:\n${logs.join('\n')}`)), 60_000);
    const onData = (d) => {
      buf += d.toString();
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        logs.push(line);
        if (logs.length > 5000) logs.shift();
        try {
          const j = JSON.parse(line);
          if (j.msg === 'listening' && j.port) {
            clearTimeout(timer);
            resolve(j.port);
          }
        } catch {
          /* not JSON */
        }
      }
    };
    proc.stderr.on('data', onData);
    proc.stdout.on('data', onData);
    proc.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code} before listening:\n${logs.join('\n')}`));
    });
  });
  const state = { exitCode: null };
  proc.once('exit', (code, signal) => (state.exitCode = code ?? signal));
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    logs,
    /** null while running; the exit code or signal once the server has died. */
    get exited() {
      return state.exitCode;
    },
    stop() {
      return new Promise((resolve) => {
        if (proc.exitCode !== null || proc.signalCode !== null) return resolve(proc.exitCode);
        proc.once('exit', (code) => resolve(code));
        proc.kill('SIGTERM');
      });
    },
  };
}

export async function cli(root, args, env) {
  try {
    const { stdout } = await execFileP(process.execPath, [join(root, 'bin', 'crash-cache-cli'), ...args], {
      env: { ...process.env, ...env },
      timeout: 60_000,
    });
    return stdout;
  } catch (e) {
    throw new Error(`crash-cache-cli ${args.join(' ')} exited with ${e.code}: ${e.stdout ?? ''}${e.stderr ?? ''}`);
  }
}
