import type pg from 'pg';
import type { Config } from '../config/index.js';
import { HttpError } from '../http/errors.js';
import { transaction } from '../storage/transaction.js';
import { clearAccount } from '../ui/login-throttle.js';
import { escapeHtml } from '../ui/html.js';
import type { EmailContent } from '../alerts/format-email.js';
import { linkTokenHash, newLinkToken } from './link-token.js';

// "Forgot your password?" (table password_reset, migrations/0047_password_reset.sql). A request for an
// address makes a single-use link valid for PASSWORD_RESET_TTL_MINUTES, e-mailed to that address, when
// it names a user who logs in with a password (a user made by single sign-on has none to reset, and
// must not gain one this way) and no link was made for them in the last PASSWORD_RESET_MIN_INTERVAL_SECS.
// Whatever the case, the requester is told the same thing (src/ui/password-reset-page.ts), so the
// form tells nobody which addresses have accounts. Using the link sets the password, ends every
// session and every other open link of the user, and forgets the account's failed log-ins, in one
// transaction that holds the link's row: a link used twice at once sets one password.

export interface ResetRequest {
  userId: number;
  email: string;
  token: string;
  expiresAt: Date;
}

/** A new link for the account with this address, or null when none is owed (see above). Replaces the user's open links. */
export async function requestPasswordReset(db: pg.Pool, config: Pick<Config, 'passwordResetTtlMinutes' | 'passwordResetMinIntervalSecs'>, email: string): Promise<ResetRequest | null> {
  const address = email.trim();
  if (!address || address.length > 254) return null;
  return transaction(db, async (client) => {
    // the user's row is locked: two requests at once make one link
    const { rows } = await client.query<{ id: number; email: string; recent: boolean }>(
      `SELECT u.id::int, u.email, EXISTS (SELECT 1 FROM password_reset r WHERE r.user_id = u.id AND r.created_at > now() - make_interval(secs => $2)) AS recent
         FROM ui_user u WHERE lower(u.email) = lower($1) AND u.password_hash IS NOT NULL FOR UPDATE OF u`,
      [address, config.passwordResetMinIntervalSecs],
    );
    const user = rows[0];
    await client.query("DELETE FROM password_reset WHERE expires_at < now() - interval '1 day'");
    if (!user || user.recent) return null;
    await client.query('DELETE FROM password_reset WHERE user_id = $1 AND used_at IS NULL', [user.id]);
    const { token, sha256 } = newLinkToken();
    const made = await client.query<{ expires_at: Date }>(
      'INSERT INTO password_reset (user_id, token_sha256, expires_at) VALUES ($1, $2, now() + make_interval(mins => $3)) RETURNING expires_at',
      [user.id, sha256, config.passwordResetTtlMinutes],
    );
    return { userId: user.id, email: user.email, token, expiresAt: made.rows[0]!.expires_at };
  });
}

interface LinkRow {
  id: number;
  user_id: number;
  email: string;
  used_at: Date | null;
  expires_at: Date;
  expired: boolean;
}

const LINK_SQL = `SELECT r.id::int, r.user_id::int, u.email, r.used_at, r.expires_at, r.expires_at <= now() AS expired
  FROM password_reset r JOIN ui_user u ON u.id = r.user_id WHERE r.token_sha256 = $1`;

/** Why a presented link cannot be used, or its row. Unknown, used and expired are told apart (the link holder already knows the address). */
function usable(row: LinkRow | undefined): LinkRow {
  if (!row) throw new HttpError('not_found', 'This password-reset link is not valid: it was mistyped, or a newer link or a new password replaced it. Ask for a new one on the login page.');
  if (row.used_at) throw new HttpError('invalid_request', 'This password-reset link has already been used. Log in, or ask for a new link on the login page.');
  if (row.expired) throw new HttpError('invalid_request', `This password-reset link expired on ${row.expires_at.toISOString().slice(0, 16).replace('T', ' ')} UTC. Ask for a new one on the login page.`);
  return row;
}

/** The account a link resets, when it can still be used; else a 404/400 saying why. */
export async function resetLinkAccount(db: pg.Pool, token: string): Promise<{ userId: number; email: string }> {
  const hash = linkTokenHash(token);
  const row = usable(hash ? (await db.query<LinkRow>(LINK_SQL, [hash])).rows[0] : undefined);
  return { userId: row.user_id, email: row.email };
}

/** Uses a link: the new password hash is set, and the user's sessions and other links end. */
export async function resetPassword(db: pg.Pool, token: string, passwordHash: string): Promise<{ userId: number; email: string }> {
  const hash = linkTokenHash(token);
  if (!hash) usable(undefined);
  return transaction(db, async (client) => {
    const row = usable((await client.query<LinkRow>(`${LINK_SQL} FOR UPDATE OF r`, [hash])).rows[0]);
    await client.query('UPDATE password_reset SET used_at = now() WHERE id = $1', [row.id]);
    await client.query('UPDATE ui_user SET password_hash = $2 WHERE id = $1', [row.user_id, passwordHash]);
    await endPasswordAccess(client, row.user_id, null);
    await clearAccount(client, row.email);
    return { userId: row.user_id, email: row.email };
  });
}

/**
 * What every new password ends, in the transaction that sets it: the user's sessions (but
 * `keepSession`, the one that changed it on the Profile page) and their open reset links.
 */
export async function endPasswordAccess(client: pg.ClientBase, userId: number, keepSession: Buffer | null): Promise<void> {
  await client.query('DELETE FROM ui_session WHERE user_id = $1 AND ($2::bytea IS NULL OR token_sha256 <> $2)', [userId, keepSession]);
  await client.query('DELETE FROM password_reset WHERE user_id = $1 AND used_at IS NULL', [userId]);
}

export function resetLink(config: Pick<Config, 'publicUrl'>, token: string): string {
  return `${config.publicUrl}/password/reset/${token}`;
}

/** The e-mail with the link (sent with the alerts' mailer, src/alerts/send-email.ts). */
export function resetEmail(link: string, r: Pick<ResetRequest, 'email' | 'expiresAt'>, fromIp: string): EmailContent {
  const until = `${r.expiresAt.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
  const subject = 'Reset your crash-cache password';
  const text = `Someone (from ${fromIp}) asked to reset the crash-cache password of ${r.email}.\n\nChoose a new password: ${link}\n\nThe link works once, until ${until}. Using it logs you out everywhere.\nIf you did not ask for it, ignore this e-mail: your password stays as it is.\n`;
  const html = `<p>Someone (from ${escapeHtml(fromIp)}) asked to reset the crash-cache password of ${escapeHtml(r.email)}.</p>
<p><a href="${escapeHtml(link)}">Choose a new password</a></p>
<p>The link works once, until ${escapeHtml(until)}. Using it logs you out everywhere.</p>
<p>If you did not ask for it, ignore this e-mail: your password stays as it is.</p>`;
  return { subject, text, html };
}
