import { createHash, randomBytes } from 'node:crypto';
import type pg from 'pg';
import type { UserRow } from './users.js';

// Login sessions (table ui_session). The cookie holds a random 256-bit token; the table holds its
// sha-256. A session lives SESSION_IDLE_DAYS after its last use (renewed at most once an hour so that
// browsing is not a write per page) and never longer than SESSION_MAX_DAYS after login.

export const SESSION_IDLE_DAYS = 14;
export const SESSION_MAX_DAYS = 90;

export interface Session {
  tokenSha256: Buffer;
  csrfToken: string;
  user: UserRow;
  /** a password user without two-factor log-in (REQUIRE_TWO_FACTOR sends them to set it up: auth.ts) */
  withoutSecondFactor: boolean;
}

function sha256(token: string): Buffer {
  return createHash('sha256').update(token).digest();
}

/** `oidcIdToken`: the ID token of a log-in through the provider, its id_token_hint at logout (src/ui/oidc-login.ts). */
export async function createSession(db: pg.Pool, userId: number, opts: { oidcIdToken?: string } = {}): Promise<{ token: string; csrfToken: string }> {
  const token = randomBytes(32).toString('base64url');
  const csrfToken = randomBytes(24).toString('base64url');
  await db.query(
    `INSERT INTO ui_session (token_sha256, user_id, csrf_token, expires_at, oidc_id_token)
     VALUES ($1, $2, $3, now() + make_interval(days => $4), $5)`,
    [sha256(token), userId, csrfToken, SESSION_IDLE_DAYS, opts.oidcIdToken ?? null],
  );
  // Housekeeping at login rather than on a timer: the table stays small.
  await db.query('DELETE FROM ui_session WHERE expires_at < now()');
  return { token, csrfToken };
}

/** The live session for a cookie token, or null (unknown, expired, or its user deleted). */
export async function findSession(db: pg.Pool, token: string): Promise<Session | null> {
  if (!/^[A-Za-z0-9_-]{20,100}$/.test(token)) return null;
  const hash = sha256(token);
  const { rows } = await db.query<UserRow & { csrf_token: string; stale: boolean; without_2fa: boolean }>(
    `SELECT u.id, u.email, u.role, u.all_projects, u.created_at, s.csrf_token,
            s.last_used_at < now() - interval '1 hour' AS stale,
            u.password_hash IS NOT NULL AND u.totp_secret IS NULL AS without_2fa
       FROM ui_session s JOIN ui_user u ON u.id = s.user_id
      WHERE s.token_sha256 = $1 AND s.expires_at > now()`,
    [hash],
  );
  const row = rows[0];
  if (!row) return null;
  if (row.stale) {
    await db.query(
      `UPDATE ui_session SET last_used_at = now(),
              expires_at = least(now() + make_interval(days => $2), created_at + make_interval(days => $3))
        WHERE token_sha256 = $1`,
      [hash, SESSION_IDLE_DAYS, SESSION_MAX_DAYS],
    );
  }
  const { csrf_token, stale: _, without_2fa, ...user } = row;
  return { tokenSha256: hash, csrfToken: csrf_token, user, withoutSecondFactor: without_2fa };
}

/** Ends a session; returns the provider's ID token it was opened with (null: a password session). */
export async function deleteSession(db: pg.Pool, tokenSha256: Buffer): Promise<string | null> {
  const { rows } = await db.query<{ oidc_id_token: string | null }>('DELETE FROM ui_session WHERE token_sha256 = $1 RETURNING oidc_id_token', [tokenSha256]);
  return rows[0]?.oidc_id_token ?? null;
}
