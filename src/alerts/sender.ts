import type { Config } from '../config/index.js';
import type { AppContext } from '../context.js';
import type pg from 'pg';
import { claimAlerts, pruneAlertCounts, createTestAlert, LEASE_MARGIN_MS, pruneAlerts, recordDelivery, type ClaimedAlert, type DeliveryResult } from './deliveries.js';
import { buildMessage, buildPayload } from './payload.js';
import { postJson } from './outbound.js';
import { discordBody, slackBody, teamsBody } from './format-chat.js';
import { emailContent } from './format-email.js';
import { emailDelivery, recipientsOf, sendEmail } from './send-email.js';
import { checkMonitors, MONITOR_CHECK_EVERY_MS } from './monitors.js';
import { claimNotices, type ClaimedNotice } from '../notices/deliveries.js';
import { deliverNotice } from '../notices/send.js';

// The sender of one process (every worker process runs one: src/digest/worker.ts). It polls the
// outboxes for due alerts and e-mails about issues (src/notices/), sends up to MAX_IN_FLIGHT at once
// (a receiver that hangs holds one slot for ALERT_TIMEOUT_MS, not the others), records each result,
// and now and then deletes old finished rows.
// It never touches the digest: a webhook that is slow or down only delays its own alerts.

/** How often an idle sender looks for due alerts: an alert waits at most this long after its commit. The poll is one UPDATE over an empty partial index. */
const POLL_MS = 1000;
const MAX_IN_FLIGHT = 8;
const PRUNE_EVERY_MS = 3_600_000;

export interface AlertSender {
  stop(): Promise<void>;
}

type SendConfig = Pick<Config, 'publicUrl' | 'alertTimeoutMs' | 'alertRetrySecs' | 'alertMaxAttempts' | 'smtpUrl' | 'alertEmailFrom' | 'outboundAllowInternal'>;

/** Sends one claimed alert over its rule's channel; the answer, not yet recorded. */
async function send(db: pg.Pool, config: SendConfig, a: ClaimedAlert): Promise<DeliveryResult> {
  // deleted, or being rebuilt by ruminate: retried like a failed send
  if (a.kind !== 'test' && a.kind !== 'monitor' && !a.issue_found) return { ok: false, httpStatus: null, error: `issue ${a.issue_id} not found`, payload: null };
  if (a.channel === 'email') {
    const to = await recipientsOf(db, a.rule_id);
    const content = emailContent(buildMessage(config, a));
    return emailDelivery(await sendEmail(config, to, content, String(a.id)), to, content.subject);
  }
  const m = buildMessage(config, a);
  const body = a.channel === 'slack' ? slackBody(m) : a.channel === 'discord' ? discordBody(m) : a.channel === 'teams' ? teamsBody(m) : buildPayload(config, a);
  const r = await postJson(a.webhook_url!, body, {
    timeoutMs: config.alertTimeoutMs,
    allowInternal: config.outboundAllowInternal,
    // the same on every attempt of one alert: a receiver can drop a repeat (after a crash between
    // its answer and our record of it, an alert is sent again)
    headers: { 'X-Crash-Cache-Delivery': String(a.id) },
  });
  return { ok: r.ok, httpStatus: r.status, error: r.reason, answer: r.ok ? `HTTP ${r.status}` : r.reason ?? undefined, payload: body };
}

/** Sends one claimed alert and records the result. */
export async function deliverAlert(db: pg.Pool, config: SendConfig, a: ClaimedAlert, maxAttempts = config.alertMaxAttempts): Promise<DeliveryResult> {
  const r = await send(db, config, a);
  await recordDelivery(db, a.id, a.attempts, r, { retrySecs: config.alertRetrySecs, maxAttempts });
  return r;
}

/** Sends a test notification over one rule's channel now (one attempt, recorded as a delivery); null: no such rule. */
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
  let monitorsAt = 0;
  let failing = false;

  const sleep = (ms: number) => new Promise<void>((resolve) => {
    const t = setTimeout(() => (wakeUp = null, resolve()), ms);
    wakeUp = () => (clearTimeout(t), (wakeUp = null), resolve());
  });

  const track = (work: Promise<void>) => {
    const p = work.finally(() => {
      inFlight.delete(p);
      wakeUp?.();
    });
    inFlight.add(p);
  };
  const send = (a: ClaimedAlert) => track(deliverAlert(db.pool, config, a)
    .then((r) => {
      if (r.ok) log.info('alert delivered', { alert: a.id, kind: a.kind, issue: a.issue_id, attempt: a.attempts });
      else log.warn('alert not delivered', { alert: a.id, kind: a.kind, issue: a.issue_id, attempt: a.attempts, error: r.error });
    })
    .catch((e) => log.warn('cannot record an alert delivery', { alert: a.id, error: String(e) })));
  const notify = (n: ClaimedNotice) => track(deliverNotice(db.pool, config, n)
    .then((r) => {
      const what = { notice: n.id, reason: n.reason, issue: n.issue_id, user: n.recipient, attempt: n.attempts };
      if (r.ok) log.info('issue e-mail delivered', what);
      else log.warn('issue e-mail not delivered', { ...what, error: r.error });
    })
    .catch((e) => log.warn('cannot record an issue e-mail delivery', { notice: n.id, error: String(e) })));

  const loop = (async () => {
    while (!stopping) {
      let claimed = 0;
      try {
        if (Date.now() - prunedAt >= PRUNE_EVERY_MS) {
          prunedAt = Date.now();
          const n = await pruneAlerts(db.pool, config.alertRetentionDays);
          await pruneAlertCounts(db.pool);
          if (n) log.info('old alerts deleted', { count: n });
        }
        if (Date.now() - monitorsAt >= MONITOR_CHECK_EVERY_MS) {
          monitorsAt = Date.now();
          const m = await checkMonitors(db.pool);
          if (m.opened || m.resolved) log.info('cron monitor incidents', m);
        }
        const free = MAX_IN_FLIGHT - inFlight.size;
        if (free > 0) {
          const rows = await claimAlerts(db.pool, free, config.alertTimeoutMs + LEASE_MARGIN_MS);
          for (const a of rows) send(a);
          const notices = await claimNotices(db.pool, free - rows.length, config.alertTimeoutMs + LEASE_MARGIN_MS);
          for (const n of notices) notify(n);
          claimed = rows.length + notices.length;
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
