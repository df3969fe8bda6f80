import type pg from 'pg';
import { HttpError } from '../http/errors.js';
import type { Principal } from '../auth/principal.js';
import type { Role } from '../auth/scopes.js';
import type { Config } from '../config/index.js';
import { transaction } from '../storage/transaction.js';
import { escapeHtml } from '../ui/html.js';
import type { EmailContent } from '../alerts/format-email.js';
import { checkGrant, checkRemove } from './rules.js';
import { linkTokenHash, newLinkToken } from './link-token.js';

// Invitations (table member_invite, migrations/0034_members.sql): a single-use link that expires after
// INVITE_TTL_HOURS, carrying a role and optionally the projects the new member is limited to. The
// link's token is 256 random bits shown once to the inviter (and e-mailed when SMTP_URL is set);
// only its sha-256 is stored. Accepting creates the user with the invite's id, role and projects
// and marks the invite used, in one transaction that holds the invite's row: a link used twice at
// the same moment makes one user.

export interface InviteRow {
  id: number;
  email: string;
  role: Role;
  /** null: every project */
  project_ids: number[] | null;
  invited_by: number | null;
  inviter_email: string | null;
  created_at: Date;
  expires_at: Date;
  accepted_at: Date | null;
  expired: boolean;
}

const COLUMNS = `i.id::int, i.email, i.role, i.project_ids::int[] AS project_ids, i.invited_by::int, u.email AS inviter_email,
  i.created_at, i.expires_at, i.accepted_at, i.expires_at <= now() AS expired`;
const FROM = 'member_invite i LEFT JOIN ui_user u ON u.id = i.invited_by';
const EMAIL = /^[^\s@]+@[^\s@]+$/;

export function inviteLink(config: Pick<Config, 'publicUrl'>, token: string): string {
  return `${config.publicUrl}/invite/${token}`;
}

/** Invites that have not been accepted, expired ones included (shown as such until withdrawn or replaced). */
export async function listOpenInvites(db: pg.Pool | pg.ClientBase): Promise<InviteRow[]> {
  return (await db.query<InviteRow>(`SELECT ${COLUMNS} FROM ${FROM} WHERE i.accepted_at IS NULL ORDER BY i.id`)).rows;
}

export async function getOpenInvite(db: pg.Pool | pg.ClientBase, id: number): Promise<InviteRow | null> {
  return (await db.query<InviteRow>(`SELECT ${COLUMNS} FROM ${FROM} WHERE i.id = $1 AND i.accepted_at IS NULL`, [id])).rows[0] ?? null;
}

/**
 * Makes an invite (replacing an open one for the same address). The caller has checked
 * member:write; the role is checked here (only owners invite admins and owners).
 */
export async function createInvite(
  db: pg.Pool,
  config: Pick<Config, 'inviteTtlHours' | 'passwordLogin'>,
  actor: Principal,
  input: { email: string; role: Role; projectIds: readonly number[] | null },
): Promise<{ invite: InviteRow; token: string }> {
  if (!config.passwordLogin) throw new HttpError('invalid_request', PASSWORD_LOGIN_OFF);
  const email = input.email.trim();
  if (!EMAIL.test(email) || email.length > 254) throw new HttpError('invalid_request', `not an e-mail address: ${JSON.stringify(email.slice(0, 254))}`);
  checkGrant(actor, input.role);
  const { token, sha256 } = newLinkToken();
  const id = await transaction(db, async (client) => {
    const exists = await client.query('SELECT 1 FROM ui_user WHERE lower(email) = lower($1)', [email]);
    if (exists.rowCount) throw new HttpError('invalid_request', `${email} is already a member`);
    // an open invite of a higher role is the owners' to replace
    const open = await client.query<{ role: Role }>('SELECT role FROM member_invite WHERE lower(email) = lower($1) AND accepted_at IS NULL FOR UPDATE', [email]);
    if (open.rows[0]) checkRemove(actor, { id: 0, role: open.rows[0].role });
    await client.query('DELETE FROM member_invite WHERE lower(email) = lower($1) AND accepted_at IS NULL', [email]);
    const { rows } = await client.query<{ id: number }>(
      `INSERT INTO member_invite (email, role, project_ids, token_sha256, invited_by, expires_at)
       VALUES ($1, $2, $3, $4, $5, now() + make_interval(hours => $6)) RETURNING id::int`,
      [email, input.role, input.projectIds, sha256, actor.userId, config.inviteTtlHours],
    );
    return rows[0]!.id;
  });
  return { invite: (await getOpenInvite(db, id))!, token };
}

/** Withdraws an open invite (the link stops working). */
export async function withdrawInvite(db: pg.Pool, actor: Principal | null, id: number): Promise<void> {
  const invite = await getOpenInvite(db, id);
  if (!invite) throw new HttpError('not_found', `no member ${id}`);
  if (actor) checkRemove(actor, { id, role: invite.role });
  await db.query('DELETE FROM member_invite WHERE id = $1 AND accepted_at IS NULL', [id]);
}

/** Why a presented invite token cannot be used, or the invite. Unknown, used and expired are told apart. */
function usable(row: InviteRow | undefined): InviteRow {
  if (!row) throw new HttpError('not_found', 'This invite link is not valid: it was mistyped, withdrawn or replaced by a newer invite. Ask for a new one.');
  if (row.accepted_at) throw new HttpError('invalid_request', 'This invite link has already been used. Log in instead, or ask for a new invite.');
  if (row.expired) throw new HttpError('invalid_request', `This invite link expired on ${row.expires_at.toISOString().slice(0, 16).replace('T', ' ')} UTC. Ask for a new one.`);
  return row;
}

/** An invite makes a password account; with PASSWORD_LOGIN=false people come in through OIDC instead. */
export const PASSWORD_LOGIN_OFF = 'invites make password accounts, and password log-in is turned off (PASSWORD_LOGIN=false): people log in with single sign-on and get OIDC_DEFAULT_ROLE; change their role on the Members page afterwards';

/** The invite a link names, when it can still be accepted; else a 404/400 saying why. */
export async function inviteForToken(db: pg.Pool | pg.ClientBase, token: string): Promise<InviteRow> {
  const hash = linkTokenHash(token);
  if (!hash) return usable(undefined);
  return usable((await db.query<InviteRow>(`SELECT ${COLUMNS} FROM ${FROM} WHERE i.token_sha256 = $1`, [hash])).rows[0]);
}

/**
 * Accepts an invite: creates the user (id, role and projects of the invite; owner if there is no user
 * at all, as for the first user made on the host) with the given password hash, and marks the invite used.
 */
export async function acceptInvite(db: pg.Pool, token: string, passwordHash: string): Promise<{ id: number; email: string; role: Role }> {
  const hash = linkTokenHash(token);
  if (!hash) usable(undefined);
  return transaction(db, async (client) => {
    const { rows } = await client.query<InviteRow>(`SELECT ${COLUMNS} FROM ${FROM} WHERE i.token_sha256 = $1 FOR UPDATE OF i`, [hash]);
    const invite = usable(rows[0]);
    const exists = await client.query('SELECT 1 FROM ui_user WHERE lower(email) = lower($1)', [invite.email]);
    if (exists.rowCount) throw new HttpError('invalid_request', `A user ${invite.email} already exists. Log in instead.`);
    const user = await client.query<{ id: number; email: string; role: Role }>(
      `INSERT INTO ui_user (id, email, password_hash, role, all_projects)
       SELECT $1, $2, $3, CASE WHEN EXISTS (SELECT 1 FROM ui_user) THEN $4 ELSE 'owner' END, $5
       RETURNING id::int, email, role`,
      [invite.id, invite.email, passwordHash, invite.role, invite.project_ids === null],
    );
    if (invite.project_ids !== null) {
      await client.query('INSERT INTO project_member (user_id, project_id) SELECT $1, p.id FROM project p WHERE p.id = ANY($2::bigint[])', [invite.id, invite.project_ids]);
    }
    await client.query('UPDATE member_invite SET accepted_at = now() WHERE id = $1', [invite.id]);
    return user.rows[0]!;
  });
}

/** The invitation e-mail (sent with the alerts' mailer, src/alerts/send-email.ts). */
export function inviteEmail(link: string, invite: Pick<InviteRow, 'role' | 'expires_at'>, inviter: string | null, orgName: string): EmailContent {
  const who = inviter ?? 'An administrator';
  const until = `${invite.expires_at.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
  const where = orgName === 'crash-cache' ? 'crash-cache' : `${orgName} on crash-cache`;
  const subject = `${who} invited you to ${where}`.slice(0, 200);
  const text = `${who} invited you to join ${where} as ${invite.role}.\n\nAccept (choose a password): ${link}\n\nThe link can be used once, until ${until}.\n`;
  const html = `<p>${escapeHtml(who)} invited you to join ${escapeHtml(where)} as <b>${escapeHtml(invite.role)}</b>.</p>
<p><a href="${escapeHtml(link)}">Accept the invite</a> (you will choose a password).</p>
<p>The link can be used once, until ${escapeHtml(until)}.</p>`;
  return { subject, text, html };
}
