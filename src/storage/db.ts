import pg from 'pg';
import type { Config } from '../config/index.js';
import { watchDiskSpace, type DiskSpace } from './disk-space.js';
import { startEmbedded, type EmbeddedHandle } from './embedded.js';
import { ensureAppDatabase } from './embedded-auth.js';
import { migrate } from './migrate.js';
import { superviseEmbedded, type Supervisor } from './supervisor.js';

// int8 (counts, ids) as JS numbers: our values stay far below 2^53.
pg.types.setTypeParser(20, (v) => Number(v));

/** Why ingest must not take a payload now; `reason` is the outcome reason recorded for the refusal. */
export interface WriteBlock {
  reason: 'disk_full' | 'database_restarting';
  detail: string;
  retryAfterSecs: number;
}

export interface Database {
  pool: pg.Pool;
  /** The URL the pool connects with (the embedded cluster's: the application role's, not the superuser's). */
  url: string;
  embedded: EmbeddedHandle | null;
  /** null when payloads may be stored; else why not (the embedded PostgreSQL restarting, its disk at the floor). */
  writeBlock(): WriteBlock | null;
  /** What /health shows of the database: state, restarts in the last 24 h, free disk space. */
  status(): Record<string, unknown>;
  close(): Promise<void>;
}

export interface OpenOptions {
  log?: (m: string, fields?: Record<string, unknown>) => void;
  migrate?: boolean;
  poolSize?: number;
  applicationName?: string;
  /** The long-running server: watch the embedded PostgreSQL (restart it when it dies) and its disk's free space. */
  supervise?: boolean;
  /** Called when the supervisor has restarted the embedded PostgreSQL. */
  onRestarted?: () => void;
}

/** Connects to DATABASE_URL, or starts (or attaches to) the embedded PostgreSQL; applies migrations. */
export async function openDatabase(config: Config, opts: OpenOptions = {}): Promise<Database> {
  const log = opts.log ?? ((m, f) => process.stderr.write((f ? `${m} ${JSON.stringify(f)}` : m) + '\n'));
  let embedded: EmbeddedHandle | null = null;
  let url = config.databaseUrl;
  if (!url) {
    embedded = await startEmbedded(config.dataDir, config.embeddedPgPort, log, config.memoryBudget);
    url = await ensureAppDatabase(embedded.url, embedded.credentials);
  }
  let supervisor: Supervisor | null = null;
  let disk: DiskSpace | null = null;
  if (embedded && opts.supervise) {
    supervisor = superviseEmbedded(embedded, { log: log, onRestarted: opts.onRestarted });
    disk = await watchDiskSpace(embedded.pgDir, { minFreeBytes: config.diskMinFreeBytes, minFreePercent: config.diskMinFreePercent }, log);
  }
  const pool = new pg.Pool({
    connectionString: url,
    max: opts.poolSize ?? config.dbPoolSize,
    connectionTimeoutMillis: config.dbConnectTimeoutMs,
    statement_timeout: config.dbStatementTimeoutMs || undefined,
    application_name: opts.applicationName ?? 'crash-cache',
  });
  // An idle client losing its connection (database restarted) must not crash the process; the next
  // checkout reconnects.
  pool.on('error', (e) => log(`database connection lost: ${e.message}`));
  // A client that is checked out when its connection dies emits 'error' with no pool listener attached
  // (pg-pool removes its idle listener on checkout); unhandled, that would crash the process. The query
  // in flight is rejected anyway, so the owner sees the failure; this listener only keeps us alive.
  pool.on('connect', (client) => {
    client.on('error', () => {});
  });
  if (opts.migrate !== false) {
    const client = await pool.connect();
    try {
      await migrate(client);
    } finally {
      client.release();
    }
  }
  return {
    pool,
    url,
    embedded,
    writeBlock() {
      if (supervisor?.state() === 'restarting') return { reason: 'database_restarting', detail: 'the embedded PostgreSQL is restarting; retry later', retryAfterSecs: 5 };
      const low = disk?.low();
      if (low) return { reason: 'disk_full', detail: `not accepting payloads: ${low}; retry later`, retryAfterSecs: 60 };
      return null;
    },
    status() {
      const s: Record<string, unknown> = {};
      if (supervisor) {
        s.database = supervisor.state();
        s.database_restarts_24h = supervisor.restarts24h();
      }
      const d = disk?.status();
      if (d) s.disk = d;
      return s;
    },
    async close() {
      supervisor?.close();
      disk?.close();
      await pool.end().catch(() => {});
      if (embedded?.owned) await embedded.stop();
    },
  };
}
