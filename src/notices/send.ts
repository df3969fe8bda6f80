import type pg from 'pg';
import type { Config } from '../config/index.js';
import { recordDelivery, type DeliveryResult } from '../alerts/deliveries.js';
import { emailDelivery, sendEmail } from '../alerts/send-email.js';
import type { ClaimedNotice } from './deliveries.js';
import { noticeEmail } from './format.js';

// Sends one claimed e-mail about an issue and records the result in notice_outbox, with the alerts'
// retries and give-up (ALERT_RETRY_SECS, ALERT_MAX_ATTEMPTS; an SMTP 5xx fails at once).

type SendConfig = Pick<Config, 'publicUrl' | 'alertTimeoutMs' | 'alertRetrySecs' | 'alertMaxAttempts' | 'smtpUrl' | 'alertEmailFrom'>;

async function send(config: SendConfig, n: ClaimedNotice): Promise<DeliveryResult> {
  // a recipient who turned this e-mail off, or lost the project, since it was queued: not sent, and
  // nothing to retry (the comment's text must not reach someone who may no longer read the issue)
  if (n.unwanted) return { ok: false, httpStatus: null, error: `not sent: ${n.recipient} ${n.unwanted}`, permanent: true, payload: null };
  // being rebuilt by ruminate: retried like a failed send
  if (!n.issue_found) return { ok: false, httpStatus: null, error: `issue ${n.issue_id} not found`, payload: null };
  const content = noticeEmail(config, n);
  return emailDelivery(await sendEmail(config, [n.recipient], content, `notice-${n.id}`), [n.recipient], content.subject);
}

export async function deliverNotice(db: pg.Pool, config: SendConfig, n: ClaimedNotice): Promise<DeliveryResult> {
  const r = await send(config, n);
  await recordDelivery(db, n.id, n.attempts, r, { retrySecs: config.alertRetrySecs, maxAttempts: config.alertMaxAttempts, outbox: 'notice_outbox' });
  return r;
}
