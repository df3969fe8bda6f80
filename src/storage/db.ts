import pg from 'pg';
import type { Config } from '../config/index.js';
import { startEmbedded, type EmbeddedHandle } from './embedded.js';
import { migrate } from './migrate.js';

// int8 (counts, ids) as JS numbers: our values stay far below 2^53.
pg.types.setTypeParser(20, (v) => Number(v));

export interface Database {
  pool: pg.Pool;
  url: string;
  embedded: EmbeddedHandle | null;
  close(): Promise<void>;
}

const EMBEDDED_DB = 'crashcache';

async function ensureDatabase(adminUrl: string, name: string): Promise<string> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const r = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (r.rowCount === 0) {
      try {
        await client.query(`CREATE DATABASE ${name}`);
      } catch (e) {
        // created concurrently by another process (the CLI and the server starting together)
        if (!['42P04', '23505'].includes((e as { code?: string }).code ?? '')) throw e;
      }
    }
  } finally {
    await client.end();
  }
  const u = new URL(adminUrl);
  u.pathname = `/${name}`;
  return u.toString();
}

export interface OpenOptions {
  log?: (m: string) => void;
  migrate?: boolean;
  poolSize?: number;
  applicationName?: string;
}

/** Connects to DATABASE_URL, or starts (or attaches to) the embedded PostgreSQL; applies migrations. */
export async function openDatabase(config: Config, opts: OpenOptions = {}): Promise<Database> {
  const log = opts.log ?? ((m) => process.stderr.write(m + '\n'));
  let embedded: EmbeddedHandle | null = null;
  let url = config.databaseUrl;
  if (!url) {
    embedded = await startEmbedded(config.dataDir, config.embeddedPgPort, log);
    url = await ensureDatabase(embedded.url, EMBEDDED_DB);
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
    async close() {
      await pool.end().catch(() => {});
      if (embedded?.owned) await embedded.stop();
    },
  };
}
