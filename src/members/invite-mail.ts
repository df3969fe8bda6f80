import type { AppContext } from '../context.js';
import { sendEmail, type EmailResult } from '../alerts/send-email.js';
import { inviteEmail, inviteLink, type InviteRow } from './invites.js';

/**
 * E-mails an invite's link when SMTP_URL is set (the alerts' mailer, one attempt: the inviter sees the
 * result and has the link anyway). null: no mail server configured, nothing sent.
 */
export async function mailInvite(ctx: AppContext, invite: InviteRow, token: string, inviterEmail: string | null): Promise<EmailResult | null> {
  if (!ctx.config.smtpUrl) return null;
  const r = await sendEmail(ctx.config, [invite.email], inviteEmail(inviteLink(ctx.config, token), invite, inviterEmail, ctx.config.organizationSlug), null);
  if (!r.ok) ctx.log.warn('invite e-mail not sent', { invite: invite.id, reply: r.reply });
  return r;
}
