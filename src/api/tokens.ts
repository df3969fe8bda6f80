import { createHash, randomBytes } from 'node:crypto';
import type pg from 'pg';
import { SCOPES, type Scope } from '../auth/scopes.js';

// API tokens: 64 hex characters (256 random bits; also the legacy user-token form sentry-cli
// recognises), shown once at creation and stored as SHA-256. A plain hash suffices, unlike for
// passwords: the input is random, so there is nothing to guess. Checking a token is one unique-index
// lookup (~0.1 ms); there is no cache, so a revocation holds from the next request on.

export interface TokenRow {
  id: number;
  name: string;
  prefix: string;
  scopes: string[];
  /** the user who made it (UI or API), whose role caps it; null when made on the host with crash-cache-cli */
  user_id: number | null;
  created_at: Date;
  last_used_at: Date | null;
  revoked_at: Date | null;
}

/** A token made on the host without --scopes may do everything (its maker already holds the database). */
export const DEFAULT_SCOPES: readonly Scope[] = SCOPES;

const COLUMNS = 'id, name, prefix, scopes, user_id, created_at, last_used_at, revoked_at';

function sha256(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}

/**
 * Makes a token. `userId`: the user making it in the UI or API (the caller has already checked the
 * scopes against their role; they are capped again at every use); null on the host.
 */
export async function createToken(
  db: pg.Pool | pg.ClientBase,
  name = '',
  opts: { scopes?: readonly Scope[]; userId?: number | null } = {},
): Promise<{ token: string; row: TokenRow }> {
  const token = randomBytes(32).toString('hex');
  const { rows } = await db.query<TokenRow>(
    `INSERT INTO api_token (name, token_sha256, prefix, scopes, user_id) VALUES ($1, $2, $3, $4, $5)
     RETURNING ${COLUMNS}`,
    [name, sha256(token), token.slice(0, 8), opts.scopes ?? DEFAULT_SCOPES, opts.userId ?? null],
  );
  return { token, row: rows[0]! };
}

export async function listTokens(db: pg.Pool | pg.ClientBase): Promise<TokenRow[]> {
  const { rows } = await db.query<TokenRow>(
    `SELECT ${COLUMNS} FROM api_token ORDER BY id`,
  );
  return rows;
}

/**
 * Revokes by numeric id or by prefix (at least 4 characters of the token). Returns the revoked
 * rows; an ambiguous prefix revokes nothing and throws, naming how many tokens it matched.
 */
export async function revokeToken(db: pg.Pool | pg.ClientBase, idOrPrefix: string): Promise<TokenRow[]> {
  const s = idOrPrefix.trim().toLowerCase();
  let where: string;
  let param: string;
  if (/^\d+$/.test(s) && s.length < 8) {
    where = 'id = $1';
    param = s;
  } else if (/^[0-9a-f]{4,64}$/.test(s)) {
    // a whole token is matched by its hash, a shorter prefix by the stored 8-character prefix
    if (s.length === 64) {
      where = "token_sha256 = decode($1, 'hex')";
      param = sha256(s).toString('hex');
    } else {
      where = 'starts_with(prefix, left($1, 8))';
      param = s;
    }
  } else throw new Error(`not a token id or prefix: ${JSON.stringify(idOrPrefix)}`);
  const found = await db.query<{ id: number }>(`SELECT id FROM api_token WHERE (${where}) AND revoked_at IS NULL`, [param]);
  if (found.rows.length > 1) throw new Error(`${found.rows.length} tokens start with ${s}; give more characters or the id`);
  if (!found.rows.length) return [];
  const { rows } = await db.query<TokenRow>(
    `UPDATE api_token SET revoked_at = now() WHERE id = $1
     RETURNING ${COLUMNS}`,
    [found.rows[0]!.id],
  );
  return rows;
}

/** The live token row for a presented token, or null. Refreshes last_used_at at most once a minute. */
export async function verifyToken(db: pg.Pool, token: string): Promise<TokenRow | null> {
  if (!/^[0-9a-f]{64}$/i.test(token)) return null;
  const { rows } = await db.query<TokenRow>(
    `SELECT ${COLUMNS} FROM api_token
      WHERE token_sha256 = $1 AND revoked_at IS NULL`,
    [sha256(token.toLowerCase())],
  );
  const row = rows[0] ?? null;
  if (row && (!row.last_used_at || Date.now() - row.last_used_at.getTime() > 60_000)) {
    // Not awaited: the answer does not depend on it, and a lost update only makes the date older.
    db.query('UPDATE api_token SET last_used_at = now() WHERE id = $1', [row.id]).catch(() => {});
  }
  return row;
}

/** Live tokens for the Tokens page: the user's own (userId), or every one (null), with their maker's e-mail. */
export async function listLiveTokens(db: pg.Pool | pg.ClientBase, userId: number | null): Promise<(TokenRow & { user_email: string | null })[]> {
  const { rows } = await db.query<TokenRow & { user_email: string | null }>(
    `SELECT t.id::int, t.name, t.prefix, t.scopes, t.user_id::int, t.created_at, t.last_used_at, t.revoked_at, u.email AS user_email
       FROM api_token t LEFT JOIN ui_user u ON u.id = t.user_id
      WHERE t.revoked_at IS NULL AND ($1::bigint IS NULL OR t.user_id = $1)
      ORDER BY t.id`,
    [userId],
  );
  return rows;
}

/** Revokes one live token by id: any (userId null) or only one of that user's. False when there is none such. */
export async function revokeTokenOf(db: pg.Pool | pg.ClientBase, id: number, userId: number | null): Promise<boolean> {
  const r = await db.query('UPDATE api_token SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL AND ($2::bigint IS NULL OR user_id = $2)', [id, userId]);
  return (r.rowCount ?? 0) > 0;
}
