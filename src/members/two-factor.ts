import { createHash, randomBytes } from 'node:crypto';
import type pg from 'pg';
import { matchTotp, newTotpSecret } from '../auth/totp.js';
import { transaction } from '../storage/transaction.js';
import { linkTokenHash, newLinkToken } from './link-token.js';

// Two-factor log-in with an authenticator app (migrations/0049_two_factor.sql). Set-up is two steps
// on the Profile page: a pending secret is shown (QR code and text), and the first code the app
// makes from it turns it on and shows RECOVERY_CODES single-use recovery codes, once. A log-in with
// the right password then waits for a code (or a recovery code) in login_second_factor. Every code
// check locks the user's row, so one code is accepted once even by two requests at the same moment.

export const RECOVERY_CODES = 10;

const sha256 = (s: string) => createHash('sha256').update(s, 'utf8').digest();

/** A recovery code as typed: case, spaces and dashes do not matter. */
const normal = (code: string) => code.toLowerCase().replace(/[\s-]/g, '');

/** "k3vq7-x2mpa": 50 random bits in base32's lower-case alphabet, in two groups to read aloud. */
function newRecoveryCode(): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz234567';
  const bytes = randomBytes(10);
  const chars = [...bytes].map((b) => alphabet[b & 31]).join('');
  return `${chars.slice(0, 5)}-${chars.slice(5)}`;
}

/**
 * Starts (or restarts) set-up: a new pending secret for the user, to show them; null when two-factor
 * log-in is on already (a new secret would replace it without the password turning it off asks for).
 */
export async function startTwoFactorSetup(db: pg.Pool, userId: number): Promise<Buffer | null> {
  const secret = newTotpSecret();
  const { rowCount } = await db.query('UPDATE ui_user SET totp_pending = $2 WHERE id = $1 AND totp_secret IS NULL', [userId, secret]);
  return rowCount ? secret : null;
}

/** The pending secret being set up, or null. */
export async function pendingTwoFactor(db: pg.Pool, userId: number): Promise<Buffer | null> {
  return (await db.query<{ totp_pending: Buffer | null }>('SELECT totp_pending FROM ui_user WHERE id = $1', [userId])).rows[0]?.totp_pending ?? null;
}

/** Confirms set-up with a code from the app: on, with new recovery codes (returned, shown once); null when the code is wrong. */
export async function enableTwoFactor(db: pg.Pool, userId: number, code: string): Promise<string[] | null> {
  return transaction(db, async (client) => {
    const { rows } = await client.query<{ totp_pending: Buffer | null }>('SELECT totp_pending FROM ui_user WHERE id = $1 AND totp_secret IS NULL FOR UPDATE', [userId]);
    const pending = rows[0]?.totp_pending ?? null;
    const step = pending ? matchTotp(pending, code.trim(), null) : null;
    if (!pending || step === null) return null;
    await client.query('UPDATE ui_user SET totp_secret = totp_pending, totp_pending = NULL, totp_last_step = $2, totp_enabled_at = now() WHERE id = $1', [userId, step]);
    return replaceRecoveryCodes(client, userId);
  });
}

async function replaceRecoveryCodes(client: pg.ClientBase, userId: number): Promise<string[]> {
  const codes = Array.from({ length: RECOVERY_CODES }, newRecoveryCode);
  await client.query('DELETE FROM recovery_code WHERE user_id = $1', [userId]);
  await client.query('INSERT INTO recovery_code (user_id, code_sha256) SELECT $1, unnest($2::bytea[])', [userId, codes.map((c) => sha256(normal(c)))]);
  return codes;
}

/** Turns the second factor off (the Profile page, having checked the password; an administrator on the Members page; `crash-cache-cli user two-factor-off`). False: it was off. */
export async function disableTwoFactor(db: pg.Pool | pg.ClientBase, userId: number): Promise<boolean> {
  const { rowCount } = await db.query(
    `WITH gone AS (DELETE FROM recovery_code WHERE user_id = $1)
     UPDATE ui_user SET totp_secret = NULL, totp_pending = NULL, totp_last_step = NULL, totp_enabled_at = NULL WHERE id = $1 AND totp_secret IS NOT NULL`,
    [userId]);
  await db.query('DELETE FROM login_second_factor WHERE user_id = $1', [userId]);
  return (rowCount ?? 0) > 0;
}

export interface TwoFactorState {
  enabledAt: Date | null;
  recoveryLeft: number;
}

export async function twoFactorState(db: pg.Pool, userId: number): Promise<TwoFactorState> {
  const { rows } = await db.query<{ enabled_at: Date | null; left: number }>(
    `SELECT totp_enabled_at AS enabled_at, (SELECT count(*)::int FROM recovery_code r WHERE r.user_id = u.id AND r.used_at IS NULL) AS left
       FROM ui_user u WHERE id = $1`, [userId]);
  return { enabledAt: rows[0]?.enabled_at ?? null, recoveryLeft: rows[0]?.left ?? 0 };
}

/** Whether the user's log-ins need a second factor. */
export async function needsSecondFactor(db: pg.Pool, userId: number): Promise<boolean> {
  return (await db.query('SELECT 1 FROM ui_user WHERE id = $1 AND totp_secret IS NOT NULL', [userId])).rowCount === 1;
}

/**
 * Checks a code from the app (6 digits, not spent) or an unused recovery code, spending it. Locks the
 * user's row: of two requests with one code, one gets in.
 */
export async function checkSecondFactor(db: pg.Pool, userId: number, input: string): Promise<'code' | 'recovery' | null> {
  return transaction(db, async (client) => {
    const { rows } = await client.query<{ totp_secret: Buffer | null; totp_last_step: string | null }>(
      'SELECT totp_secret, totp_last_step FROM ui_user WHERE id = $1 FOR UPDATE', [userId]);
    const u = rows[0];
    if (!u?.totp_secret) return null;
    const code = input.trim();
    if (/^\d{6}$/.test(code)) {
      const step = matchTotp(u.totp_secret, code, u.totp_last_step === null ? null : Number(u.totp_last_step));
      if (step === null) return null;
      await client.query('UPDATE ui_user SET totp_last_step = $2 WHERE id = $1', [userId, step]);
      return 'code';
    }
    const n = normal(code);
    if (!/^[a-z2-7]{10}$/.test(n)) return null;
    const used = await client.query('UPDATE recovery_code SET used_at = now() WHERE user_id = $1 AND code_sha256 = $2 AND used_at IS NULL', [userId, sha256(n)]);
    return used.rowCount === 1 ? 'recovery' : null;
  });
}


// --- the log-in between its password and its code ---

export interface PendingLogin {
  userId: number;
  email: string;
  next: string;
  attempts: number;
}

/** Starts the wait for a second factor; returns the browser's token. */
export async function startSecondFactor(db: pg.Pool, userId: number, next: string, ttlSecs: number): Promise<string> {
  const { token, sha256: hash } = newLinkToken();
  await db.query("DELETE FROM login_second_factor WHERE expires_at < now() - interval '1 hour'");
  await db.query('INSERT INTO login_second_factor (token_sha256, user_id, next, expires_at) VALUES ($1, $2, $3, now() + make_interval(secs => $4))', [hash, userId, next, ttlSecs]);
  return token;
}

/** The log-in a token waits for, while it may still be finished; null otherwise. */
export async function pendingLogin(db: pg.Pool, token: string | undefined): Promise<PendingLogin | null> {
  const hash = token ? linkTokenHash(token) : null;
  if (!hash) return null;
  const { rows } = await db.query<PendingLogin>(
    `SELECT p.user_id::int AS "userId", u.email, p.next, p.attempts FROM login_second_factor p JOIN ui_user u ON u.id = p.user_id
      WHERE p.token_sha256 = $1 AND p.expires_at > now() AND u.totp_secret IS NOT NULL`, [hash]);
  return rows[0] ?? null;
}

/** A wrong code: counted; the wait ends at `maxAttempts`. Returns whether it goes on. */
export async function failSecondFactor(db: pg.Pool, token: string, maxAttempts: number): Promise<boolean> {
  const hash = linkTokenHash(token)!;
  const { rows } = await db.query<{ attempts: number }>('UPDATE login_second_factor SET attempts = attempts + 1 WHERE token_sha256 = $1 RETURNING attempts', [hash]);
  if ((rows[0]?.attempts ?? maxAttempts) < maxAttempts) return true;
  await endSecondFactor(db, token);
  return false;
}

export async function endSecondFactor(db: pg.Pool, token: string): Promise<void> {
  const hash = linkTokenHash(token);
  if (hash) await db.query('DELETE FROM login_second_factor WHERE token_sha256 = $1', [hash]);
}
