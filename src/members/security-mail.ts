import type { IncomingMessage } from 'node:http';
import type { AppContext } from '../context.js';
import { sendEmail } from '../alerts/send-email.js';
import { clientIp } from '../ratelimit/client-ip.js';
import { escapeHtml } from '../ui/html.js';

// The e-mail a user gets when their account's way in changes — the password (Profile page, a reset
// link), two-factor log-in turned on or off — so someone who took it over cannot do so unseen. Sent
// when SMTP_URL is set, before the page answers (these are rare, and a notice sent after the answer is
// lost with the process); a failure is logged and changes nothing.

export type SecurityChange = 'password changed' | 'password reset' | 'two-factor on' | 'two-factor off';

const WHAT: Record<SecurityChange, { subject: string; text: string }> = {
  'password changed': { subject: 'Your crash-cache password was changed', text: 'The password of your crash-cache account was changed on your Profile page.' },
  'password reset': { subject: 'Your crash-cache password was reset', text: 'The password of your crash-cache account was reset with a link e-mailed to you.' },
  'two-factor on': { subject: 'Two-factor log-in is on for your crash-cache account', text: 'Two-factor log-in was turned on for your crash-cache account: log-ins now ask for a code from your authenticator app.' },
  'two-factor off': { subject: 'Two-factor log-in is off for your crash-cache account', text: 'Two-factor log-in was turned off for your crash-cache account: your password alone logs you in now.' },
};

export async function mailSecurityChange(ctx: AppContext, req: IncomingMessage, to: { id: number | string; email: string }, change: SecurityChange): Promise<void> {
  if (!ctx.config.smtpUrl) return;
  const w = WHAT[change];
  const when = `${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC`;
  const from = clientIp(req, ctx.config);
  const after = 'If it was not you, reset your password from the login page and tell an administrator of crash-cache at once.';
  const text = `${w.text}\n\nWhen: ${when}\nFrom: ${from}\nAccount: ${to.email}\n\n${after}\n`;
  const html = `<p>${escapeHtml(w.text)}</p><table><tr><th align="left">When</th><td>${escapeHtml(when)}</td></tr><tr><th align="left">From</th><td>${escapeHtml(from)}</td></tr><tr><th align="left">Account</th><td>${escapeHtml(to.email)}</td></tr></table><p>${escapeHtml(after)}</p>`;
  const r = await sendEmail(ctx.config, [to.email], { subject: w.subject, text, html }, null);
  if (!r.ok) ctx.log.warn('security e-mail not sent', { user: to.id, change, reply: r.reply });
}
