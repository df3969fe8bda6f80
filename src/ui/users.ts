import { transaction } from '../storage/transaction.js';
import type pg from 'pg';
import { endPasswordAccess } from '../members/password-reset.js';
import type { Role } from '../auth/scopes.js';
import { clearAccount } from './login-throttle.js';
import { dummyHash, hashPassword, verifyPassword } from './password.js';

// Web UI users (table ui_user, migrations/0005_ui.sql, 0031_roles.sql). The first user created is the owner;
// later ones get the role they are given (member unless said otherwise).

export interface UserRow {
  id: number;
  email: string;
  role: Role;
  /** false: limited to the projects in project_member */
  all_projects: boolean;
  created_at: Date;
}

export class UserExistsError extends Error {}

/** The columns of a UserRow, for every query that returns one. */
export const USER_COLUMNS = 'id, email, role, all_projects, created_at';

const EMAIL = /^[^\s@]+@[^\s@]+$/;

export async function createUser(db: pg.Pool, email: string, password: string, role: Role = 'member'): Promise<UserRow> {
  email = email.trim();
  if (!EMAIL.test(email) || email.length > 254) throw new Error(`not an e-mail address: ${JSON.stringify(email)}`);
  if (password.length < 8) throw new Error('a password has at least 8 characters');
  const hash = await hashPassword(password);
  try {
    // "First user is owner" decided in the same statement, so two concurrent first users cannot both be.
    const { rows } = await db.query<UserRow>(
      `INSERT INTO ui_user (email, password_hash, role)
       SELECT $1, $2, CASE WHEN EXISTS (SELECT 1 FROM ui_user) THEN $3 ELSE 'owner' END
       RETURNING ${USER_COLUMNS}`,
      [email, hash, role],
    );
    return rows[0]!;
  } catch (e) {
    if ((e as { code?: string }).code === '23505') throw new UserExistsError(`a user ${email} already exists`);
    throw e;
  }
}

/** The user when the e-mail and password match, else null; takes as long either way. */
export async function authenticate(db: pg.Pool, email: string, password: string): Promise<UserRow | null> {
  const { rows } = await db.query<UserRow & { password_hash: string }>(
    `SELECT ${USER_COLUMNS}, password_hash FROM ui_user WHERE lower(email) = lower($1)`,
    [email.trim()],
  );
  const row = rows[0];
  const ok = await verifyPassword(password, row?.password_hash ?? dummyHash());
  if (!row || !ok) return null;
  const { password_hash: _, ...user } = row;
  return user;
}

export async function listUsers(db: pg.Pool): Promise<(UserRow & { sessions: number })[]> {
  const { rows } = await db.query<UserRow & { sessions: number }>(
    `SELECT u.id, u.email, u.role, u.all_projects, u.created_at,
            (SELECT count(*) FROM ui_session s WHERE s.user_id = u.id AND s.expires_at > now())::int AS sessions
       FROM ui_user u ORDER BY u.id`,
  );
  return rows;
}

/**
 * Sets a new password and ends every session and open reset link of the user (whoever knew the old one is logged out);
 * failed log-ins counted for the account are forgotten, so an administrator can unlock it at once.
 */
export async function setPassword(db: pg.Pool, email: string, password: string): Promise<boolean> {
  if (password.length < 8) throw new Error('a password has at least 8 characters');
  const hash = await hashPassword(password);
  return transaction(db, async (client) => {
    const { rows } = await client.query<{ id: number }>('UPDATE ui_user SET password_hash = $2 WHERE lower(email) = lower($1) RETURNING id', [email.trim(), hash]);
    if (rows[0]) await endPasswordAccess(client, rows[0].id, null);
    if (rows[0]) await clearAccount(client, email);
    return rows.length > 0;
  });
}

/* Deleting a user: removeMember (src/members/members.ts), which keeps the last owner. */

/**
 * A user changes their own password (Profile page, which has checked the current one): every other
 * session of theirs ends — whoever else was logged in as them is logged out — and this one stays; so do open reset links.
 */
export async function changeOwnPassword(db: pg.Pool, userId: number, password: string, keepSession: Buffer): Promise<void> {
  if (password.length < 8) throw new Error('a password has at least 8 characters');
  const hash = await hashPassword(password);
  await transaction(db, async (client) => {
    await client.query('UPDATE ui_user SET password_hash = $2 WHERE id = $1', [userId, hash]);
    await endPasswordAccess(client, userId, keepSession);
  });
}

/**
 * The user's e-mail switches: 'alerts', alert e-mail sent to project members (src/alerts/send-email.ts
 * recipientsOf); 'issues', e-mail about issues assigned to them or they take part in (src/notices/).
 */
export async function setEmailSwitch(db: pg.Pool, userId: number, which: 'alerts' | 'issues', on: boolean): Promise<void> {
  await db.query(`UPDATE ui_user SET ${which === 'alerts' ? 'email_alerts' : 'email_workflow'} = $2 WHERE id = $1`, [userId, on]);
}
