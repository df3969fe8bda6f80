import { randomBytes } from 'node:crypto';
import pg from 'pg';

// Wake-up across processes: ingest runs NOTIFY crash_cache_queue after each commit; workers LISTEN
// on one dedicated connection (not from the pool: a pooled client would lose its LISTEN when
// released). A lost connection is re-opened after 1 s; while it is down the worker still polls
// every WORKER_INTERVAL_SECS, so nothing is lost, only delayed.

export const QUEUE_CHANNEL = 'crash_cache_queue';

/**
 * The payload of this process's ingest NOTIFYs (src/archive/insert.ts). Its own listener ignores
 * them: the ingest commit wakes the digest of its process directly, and the NOTIFY arriving a few
 * ms later started a second tick, whose batch found nothing (at 100 events/s, ~1,600 empty batches
 * in 20 s, each a transaction, and the idle check after it).
 */
export const NOTIFY_SENDER = randomBytes(8).toString('hex');

export interface Listener {
  close(): Promise<void>;
}

export function listenQueue(url: string, onNotify: () => void, log: (m: string) => void): Listener {
  let client: pg.Client | null = null;
  let closed = false;
  let timer: NodeJS.Timeout | null = null;

  const connect = async () => {
    if (closed) return;
    const c = new pg.Client({ connectionString: url, application_name: 'crash-cache-listen' });
    c.on('error', (e) => {
      log(`queue listener lost its connection: ${e.message}`);
      retry();
    });
    c.on('notification', (n) => n.payload !== NOTIFY_SENDER && onNotify());
    try {
      await c.connect();
      await c.query(`LISTEN ${QUEUE_CHANNEL}`);
      if (closed) {
        await c.end().catch(() => {});
        return;
      }
      client = c;
      // Work may have arrived while we were not listening.
      onNotify();
    } catch (e) {
      log(`queue listener cannot connect: ${(e as Error).message}`);
      await c.end().catch(() => {});
      retry();
    }
  };
  const retry = () => {
    if (closed || timer) return;
    const old = client;
    client = null;
    old?.end().catch(() => {});
    timer = setTimeout(() => {
      timer = null;
      void connect();
    }, 1000);
    timer.unref();
  };
  void connect();
  return {
    async close() {
      closed = true;
      if (timer) clearTimeout(timer);
      await client?.end().catch(() => {});
    },
  };
}
