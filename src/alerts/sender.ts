import type { Config } from '../config/index.js';
import type { AppContext } from '../server/context.js';
import type pg from 'pg';
import { claimAlerts, createTestAlert, LEASE_MARGIN_MS, pruneAlerts, recordDelivery, type ClaimedAlert, type DeliveryResult } from './deliveries.js';
import { buildPayload } from './payload.js';
import { postWebhook } from './post.js';

// The sender of one process (every worker process runs one: src/digest/worker.ts). It polls the
// outbox for due alerts, POSTs up to MAX_IN_FLIGHT at once (a webhook that hangs holds one slot for
// ALERT_TIMEOUT_MS, not the others), records each result, and now and then deletes old finished rows.
// It never touches the digest: a webhook that is slow or down only delays its own alerts.

/** How often an idle sender looks for due alerts: an alert waits at most this long after its commit. The poll is one UPDATE over an empty partial index. */
const POLL_MS = 1000;
const MAX_IN_FLIGHT = 8;
const PRUNE_EVERY_MS = 3_600_000;

export interface AlertSender {
  stop(): Promise<void>;
}

type SendConfig = Pick<Config, 'publicUrl' | 'alertTimeoutMs' | 'alertRetrySecs' | 'alertMaxAttempts'>;

/** POSTs one claimed alert and records the result. */
export async function deliverAlert(db: pg.Pool, config: SendConfig, a: ClaimedAlert, maxAttempts = config.alertMaxAttempts): Promise<DeliveryResult> {
  const payload = buildPayload(config, a);
  const r: DeliveryResult = a.kind !== 'test' && !a.issue_found
    // deleted, or being rebuilt by ruminate: retried like a failed POST
    ? { ok: false, httpStatus: null, error: `issue ${a.issue_id} not found`, payload: null }
    : await postWebhook(a.webhook_url, payload, config.alertTimeoutMs, a.id);
  await recordDelivery(db, a.id, a.attempts, r, { retrySecs: config.alertRetrySecs, maxAttempts });
  return r;
}

/** Sends a test notification to one rule's webhook now (one attempt, recorded as a delivery); null: no such rule. */
export async function sendTestAlert(db: pg.Pool, config: SendConfig, ruleId: number): Promise<(DeliveryResult & { id: number }) | null> {
  const a = await createTestAlert(db, ruleId, config.alertTimeoutMs + LEASE_MARGIN_MS);
  if (!a) return null;
  return { id: a.id, ...(await deliverAlert(db, config, a, 1)) };
}

export function startAlertSender(ctx: AppContext): AlertSender {
  const { config, db, log } = ctx;
  let stopping = false;
  const inFlight = new Set<Promise<void>>();
  let wakeUp: (() => void) | null = null;
  let prunedAt = 0;
  let failing = false;

  const sleep = (ms: number) => new Promise<void>((resolve) => {
    const t = setTimeout(() => (wakeUp = null, resolve()), ms);
    wakeUp = () => (clearTimeout(t), (wakeUp = null), resolve());
  });

  const send = (a: ClaimedAlert) => {
    const p = deliverAlert(db.pool, config, a)
      .then((r) => {
        if (r.ok) log.info('alert delivered', { alert: a.id, kind: a.kind, issue: a.issue_id, attempt: a.attempts });
        else log.warn('alert not delivered', { alert: a.id, kind: a.kind, issue: a.issue_id, attempt: a.attempts, error: r.error });
      })
      .catch((e) => log.warn('cannot record an alert delivery', { alert: a.id, error: String(e) }))
      .finally(() => {
        inFlight.delete(p);
        wakeUp?.();
      });
    inFlight.add(p);
  };

  const loop = (async () => {
    while (!stopping) {
      let claimed = 0;
      try {
        if (Date.now() - prunedAt >= PRUNE_EVERY_MS) {
          prunedAt = Date.now();
          const n = await pruneAlerts(db.pool, config.alertRetentionDays);
          if (n) log.info('old alerts deleted', { count: n });
        }
        const free = MAX_IN_FLIGHT - inFlight.size;
        if (free > 0) {
          const rows = await claimAlerts(db.pool, free, config.alertTimeoutMs + LEASE_MARGIN_MS);
          claimed = rows.length;
          for (const a of rows) send(a);
        }
        if (failing) log.info('alert sender reaches the database again');
        failing = false;
      } catch (e) {
        // once per outage, not once per poll
        if (!failing) log.warn('alert sender cannot reach the database; retrying every second', { error: String(e) });
        failing = true;
      }
      if (stopping) break;
      // Claimed a full set: look again as soon as a slot frees; otherwise poll.
      if (!claimed || inFlight.size >= MAX_IN_FLIGHT) await sleep(POLL_MS);
    }
  })();

  return {
    async stop() {
      stopping = true;
      wakeUp?.();
      await loop;
      // POSTs in flight end within ALERT_TIMEOUT_MS; their results are recorded (an abandoned POST
      // would be sent again by the next sender).
      await Promise.all(inFlight);
    },
  };
}
