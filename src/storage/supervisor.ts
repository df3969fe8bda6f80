import pg from 'pg';
import { postmasterPidFile, type EmbeddedHandle } from './embedded.js';

// Supervision of the embedded PostgreSQL, as a service manager would do it (systemd's
// Restart=on-failure): the server process watches the postmaster and starts it again when it died.
// PostgreSQL replays its WAL on start, so every committed row is there afterwards.
//
// - Gone: postmaster.pid still names a process that no longer exists (kill -9, the OOM killer, a
//   PANIC). A clean stop (pg_ctl stop, an operator) removes the file and is respected: no restart.
// - Not accepting connections: the process is alive but no probe connection (one every 5 s, 5 s to
//   connect) has succeeded for HUNG_MS, failing with anything but "too many connections"; it is
//   stopped in immediate mode (a crash, as far as the WAL is concerned) and started again.
// - Restarts back off (0.5 s doubling to 30 s): after a kill -9 the old backends hold the shared
//   memory until they notice, and PostgreSQL refuses to start meanwhile.
// - Never a second postmaster: before each start postmaster.pid is checked for a live process
//   (EmbeddedHandle.restart), which may be another crash-cache process that restarted it first.

const CHECK_MS = 500;
const PROBE_EVERY_CHECKS = 10; // a probe connection every 5 s
const PROBE_TIMEOUT_MS = 5000;
const HUNG_MS = 30_000;
const BACKOFF_MIN_MS = 500;
const BACKOFF_MAX_MS = 30_000;
const DAY_MS = 86_400_000;

export type DatabaseState = 'ok' | 'restarting' | 'stopped';

export interface Supervisor {
  state(): DatabaseState;
  /** Restarts in the last 24 h. */
  restarts24h(): number;
  close(): void;
}

export interface SupervisorOptions {
  log: (m: string, fields?: Record<string, unknown>) => void;
  /** Called after each restart (wakes the digest worker, which may be backing off). */
  onRestarted?: () => void;
}

export function superviseEmbedded(embedded: EmbeddedHandle, opts: SupervisorOptions): Supervisor {
  let state: DatabaseState = 'ok';
  const restarts: number[] = [];
  let closed = false;
  let busy = false;
  let checks = 0;
  let lastOk = Date.now();

  const restart = async (why: string) => {
    state = 'restarting';
    opts.log('embedded PostgreSQL is down; restarting it', { reason: why });
    let backoff = BACKOFF_MIN_MS;
    for (let attempt = 1; !closed; attempt++) {
      try {
        const r = await embedded.restart();
        restarts.push(Date.now());
        embedded.owned = embedded.owned || r === 'started';
        opts.log(r === 'started' ? 'embedded PostgreSQL restarted' : 'embedded PostgreSQL is running again (started by another process)', { attempt, reason: why, restarts_24h: count() });
        state = 'ok';
        lastOk = Date.now();
        opts.onRestarted?.();
        return;
      } catch (e) {
        opts.log('embedded PostgreSQL restart failed; retrying', { attempt, retry_in_ms: backoff, error: (e as Error).message.split('\n')[0] });
        await new Promise((r) => setTimeout(r, backoff).unref());
        backoff = Math.min(BACKOFF_MAX_MS, backoff * 2);
      }
    }
  };

  const probe = async (): Promise<boolean> => {
    const c = new pg.Client({ connectionString: embedded.url, connectionTimeoutMillis: PROBE_TIMEOUT_MS, application_name: 'crash-cache-supervisor' });
    c.on('error', () => {});
    try {
      await c.connect();
      await c.query('SELECT 1');
      return true;
    } catch (e) {
      // Busy, not hung: every connection slot is taken (53300) or it is starting/stopping (57P03).
      return ['53300', '57P03'].includes((e as { code?: string }).code ?? '');
    } finally {
      await c.end().catch(() => {});
    }
  };

  const check = async () => {
    const f = postmasterPidFile(embedded.pgDir);
    if (!f) {
      state = 'stopped';
      return;
    }
    if (!f.alive) return restart(`postmaster (pid ${f.pid}) is gone`);
    if (state === 'stopped') {
      state = 'ok'; // started again from outside
      lastOk = Date.now();
    }
    if (++checks % PROBE_EVERY_CHECKS !== 0) return;
    if (await probe()) {
      lastOk = Date.now();
      return;
    }
    const silentMs = Date.now() - lastOk;
    if (silentMs < HUNG_MS) return;
    opts.log('embedded PostgreSQL does not accept connections; stopping it to restart', { pid: f.pid, silent_ms: silentMs });
    await stopImmediately(embedded.pgDir, f.pid);
    await restart(`postmaster (pid ${f.pid}) accepted no connection for ${Math.round(silentMs / 1000)} s`);
  };

  const timer = setInterval(() => {
    if (busy || closed) return;
    busy = true;
    check()
      .catch((e) => opts.log('embedded PostgreSQL check failed', { error: (e as Error).message }))
      .finally(() => (busy = false));
  }, CHECK_MS);
  timer.unref();

  const count = () => {
    while (restarts.length && restarts[0]! < Date.now() - DAY_MS) restarts.shift();
    return restarts.length;
  };
  return {
    state: () => state,
    restarts24h: count,
    close() {
      closed = true;
      clearInterval(timer);
    },
  };
}

/** SIGQUIT (PostgreSQL's immediate shutdown), then SIGKILL if it is still there 5 s later. */
async function stopImmediately(pgDir: string, pid: number): Promise<void> {
  const alive = () => postmasterPidFile(pgDir)?.alive === true && postmasterPidFile(pgDir)?.pid === pid;
  try {
    process.kill(pid, 'SIGQUIT');
  } catch {
    return;
  }
  for (let i = 0; i < 10 && alive(); i++) await new Promise((r) => setTimeout(r, 500));
  if (!alive()) return;
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    return; // gone meanwhile
  }
  // Until the kernel has taken it away: restarting sooner would find it "running".
  for (let i = 0; i < 100 && alive(); i++) await new Promise((r) => setTimeout(r, 100));
}
