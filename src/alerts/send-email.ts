import type pg from 'pg';
import type { Config } from '../config/index.js';
import type { EmailContent } from './format-email.js';
import type { DeliveryResult } from './deliveries.js';
import { userSeesProjectSql } from '../auth/access.js';

// E-mail alerts over SMTP (nodemailer), one connection per message: alerts are rare, and a pooled
// connection to a server that went away would fail the next alert for no reason of its own.
// nodemailer is loaded with the first message, not at start: a `crash-cache worker` idles at 80 MB RSS
// instead of 89, a default process at 93–95 instead of 96–97 (8 s after start, Node 26), and a
// server that sends no e-mail never loads it.
// SMTP_URL smtp://… upgrades with STARTTLS whenever the server offers it, and requires it when the
// URL carries a user or password (no password in clear text); smtps:// is TLS from the connect. The result keeps the server's reply — code and text, e.g. "550 5.1.1 no
// such user" — never the URL (it may hold a password).

export interface EmailResult {
  ok: boolean;
  /** the SMTP reply code of the answer that decided (null: no answer — connection refused, timeout) */
  code: number | null;
  /** what the server said, or why there was no answer */
  reply: string;
  /** a 5xx: retrying cannot help */
  permanent: boolean;
}

const MAX_REPLY = 300;
const clip = (s: string) => s.replace(/\s+/g, ' ').trim().slice(0, MAX_REPLY);

/**
 * Who a rule's e-mail goes to now: its addresses, plus, when it names project members, every UI user
 * who can see the project (owners, admins, users of every project, members of this one), has alert
 * e-mail on (Profile page: ui_user.email_alerts) and has not turned this project's e-mail off.
 */
export async function recipientsOf(db: pg.Pool | pg.ClientBase, ruleId: number): Promise<string[]> {
  const { rows } = await db.query<{ email: string }>(
    `SELECT DISTINCT lower(e) AS email FROM (
       SELECT unnest(email_to) AS e FROM alert_rule WHERE id = $1
       UNION ALL
       SELECT u.email FROM alert_rule r JOIN ui_user u ON r.email_members
        WHERE r.id = $1 AND u.email_alerts
          AND ${userSeesProjectSql('u', 'r.project_id')}
          AND NOT EXISTS (SELECT 1 FROM alert_email_optout o WHERE o.user_id = u.id AND o.project_id = r.project_id)) x
     ORDER BY 1`, [ruleId]);
  return rows.map((r) => r.email);
}

/** Sends one message. `deliveryId`: the outbox row's id, sent as X-Crash-Cache-Delivery (the same on every attempt); null for mail sent once (invites). */
export async function sendEmail(config: Pick<Config, 'smtpUrl' | 'alertEmailFrom' | 'alertTimeoutMs'>, to: readonly string[], content: EmailContent, deliveryId: string | null): Promise<EmailResult> {
  if (!config.smtpUrl) return { ok: false, code: null, reply: 'SMTP_URL is not set: e-mail cannot be sent', permanent: false };
  if (!to.length) return { ok: true, code: null, reply: 'no recipients (every project member turned e-mail off)', permanent: false };
  const u = new URL(config.smtpUrl);
  const { default: nodemailer } = await import('nodemailer');
  const transport = nodemailer.createTransport({
    url: config.smtpUrl,
    // with a password on smtp://, no STARTTLS means no mail rather than the password in clear text
    requireTLS: u.protocol === 'smtp:' && (u.username !== '' || u.password !== ''),
    connectionTimeout: config.alertTimeoutMs,
    greetingTimeout: config.alertTimeoutMs,
    socketTimeout: config.alertTimeoutMs,
    disableFileAccess: true,
    disableUrlAccess: true,
  });
  try {
    const info = await transport.sendMail({
      from: config.alertEmailFrom,
      to: [...to],
      subject: content.subject,
      text: content.text,
      html: content.html,
      headers: { ...(deliveryId === null ? {} : { 'X-Crash-Cache-Delivery': deliveryId }), 'Auto-Submitted': 'auto-generated' },
    });
    const reply = clip(String(info.response ?? ''));
    const code = Number(/^\d{3}/.exec(reply)?.[0] ?? 250);
    const rejected = (info.rejected ?? []).map(String);
    if (rejected.length) {
      const why = (info as { rejectedErrors?: { response?: string }[] }).rejectedErrors?.[0]?.response;
      return { ok: false, code: Number(/^\d{3}/.exec(why ?? '')?.[0] ?? code), reply: clip(`${why ?? 'rejected'} (rejected: ${rejected.join(', ')}; accepted: ${info.accepted.length})`), permanent: true };
    }
    return { ok: true, code, reply, permanent: false };
  } catch (e) {
    const err = e as Error & { responseCode?: number; response?: string; code?: string; rejectedErrors?: { response?: string }[] };
    const response = err.response ?? err.rejectedErrors?.[0]?.response;
    const code = err.responseCode ?? (response ? Number(/^\d{3}/.exec(response)?.[0]) || null : null);
    const reply = response ? clip(response) : clip(`${err.code ?? 'error'}: ${err.message}`.replace(config.smtpUrl, 'SMTP_URL'));
    return { ok: false, code, reply, permanent: code !== null && code >= 500 };
  } finally {
    transport.close();
  }
}

/** An e-mail's result as an outbox records it: the reply as shown to a person, and what was sent (recipients and subject). */
export function emailDelivery(r: EmailResult, to: readonly string[], subject: string): DeliveryResult {
  const answer = r.code !== null && !r.reply.startsWith(String(r.code)) ? `${r.code} ${r.reply}` : r.reply;
  return { ok: r.ok, httpStatus: r.code, error: r.ok ? null : `SMTP ${answer}`, answer: `SMTP ${answer}`, permanent: r.permanent, payload: { to, subject } };
}
