import type pg from 'pg';
import type { Role } from '../auth/scopes.js';
import { transaction } from '../storage/transaction.js';
import { USER_COLUMNS, type UserRow } from '../ui/users.js';

// Who a provider account is here (ui_user.oidc_issuer + oidc_subject, migrations/0040_oidc.sql).
// The `sub` claim is the key: it never changes for an account at its issuer, while an e-mail address
// can be given up and reissued. On an account's first log-in it is linked to the user with its e-mail
// (e-mail addresses are unique here, case-insensitively), or a user is made for it with the default role —
// the owner when it is the installation's very first user, as with `crash-cache-cli user create`.

/** A log-in the provider allowed that we do not: the page says why, with this status; nothing was made. */
export class OidcRefused extends Error {
  constructor(
    readonly status: 400 | 403,
    message: string,
  ) {
    super(message);
  }
}

export interface ProviderClaims {
  sub?: unknown;
  email?: unknown;
  email_verified?: unknown;
}

const EMAIL = /^[^\s@]{1,64}@[^\s@]{1,253}$/;

/**
 * The e-mail address of an account we let in, or OidcRefused: an e-mail is required (the user's name
 * here), must not be marked unverified (`email_verified: false`; providers that do not send the claim
 * vouch for their addresses), and must be in one of `allowedDomains` when there are any.
 */
export function admittedEmail(claims: ProviderClaims, allowedDomains: readonly string[]): string {
  const email = typeof claims.email === 'string' ? claims.email.trim() : '';
  if (!email || email.length > 254 || !EMAIL.test(email)) {
    throw new OidcRefused(403, 'The identity provider did not send an e-mail address for this account (crash-cache asks for the "email" scope); ask its administrator.');
  }
  if (claims.email_verified === false || claims.email_verified === 'false') {
    throw new OidcRefused(403, `The identity provider says the e-mail address ${email} is not verified. Verify it there, then log in again.`);
  }
  const domain = email.slice(email.lastIndexOf('@') + 1).toLowerCase();
  if (allowedDomains.length > 0 && !allowedDomains.includes(domain)) {
    throw new OidcRefused(403, `Accounts of ${domain} may not log in here (OIDC_ALLOWED_DOMAINS).`);
  }
  return email;
}

export interface OidcUser {
  user: UserRow;
  /** known: linked before; linked: an existing user linked now by e-mail; created: a new user */
  how: 'known' | 'linked' | 'created';
}

/** The user of provider account (issuer, sub), linking or making one on its first log-in. */
export async function userForAccount(db: pg.Pool, issuer: string, sub: string, email: string, role: Role): Promise<OidcUser> {
  if (!sub || sub.length > 255) throw new OidcRefused(400, 'The identity provider sent no usable subject (sub) for this account.');
  for (let attempt = 0; ; attempt++) {
    try {
      return await transaction(db, (c) => linkOrCreate(c, issuer, sub, email, role));
    } catch (e) {
      // two first log-ins of the same account (or e-mail) at once: the loser finds the winner's row
      if ((e as { code?: string }).code === '23505' && attempt === 0) continue;
      throw e;
    }
  }
}

async function linkOrCreate(c: pg.PoolClient, issuer: string, sub: string, email: string, role: Role): Promise<OidcUser> {
  const known = await c.query<UserRow>(`SELECT ${USER_COLUMNS} FROM ui_user WHERE oidc_issuer = $1 AND oidc_subject = $2`, [issuer, sub]);
  if (known.rows[0]) return { user: known.rows[0], how: 'known' };
  const byEmail = await c.query<UserRow & { oidc_issuer: string | null }>(
    `SELECT ${USER_COLUMNS}, oidc_issuer FROM ui_user WHERE lower(email) = lower($1) FOR UPDATE`,
    [email],
  );
  const existing = byEmail.rows[0];
  if (existing) {
    // Already linked to another account of this provider: a second account claiming the same address
    // (reissued, or a provider letting users pick addresses) must not take the user over.
    if (existing.oidc_issuer === issuer) {
      throw new OidcRefused(403, `The user ${email} is linked to another account at the identity provider.`);
    }
    await c.query('UPDATE ui_user SET oidc_issuer = $2, oidc_subject = $3 WHERE id = $1', [existing.id, issuer, sub]);
    const { oidc_issuer: _, ...user } = existing;
    return { user, how: 'linked' };
  }
  // "First user is owner" decided in the same statement, as createUser does (src/ui/users.ts).
  const { rows } = await c.query<UserRow>(
    `INSERT INTO ui_user (email, password_hash, role, oidc_issuer, oidc_subject)
     SELECT $1, NULL, CASE WHEN EXISTS (SELECT 1 FROM ui_user) THEN $2 ELSE 'owner' END, $3, $4
     RETURNING ${USER_COLUMNS}`,
    [email, role, issuer, sub],
  );
  return { user: rows[0]!, how: 'created' };
}
