import type { IncomingMessage } from 'node:http';
import type pg from 'pg';
import { HttpError } from '../http/errors.js';
import { tokenPrincipal, type Principal } from '../auth/principal.js';
import { verifyToken } from './tokens.js';

// Every /api/0/ request carries `Authorization: Bearer <token>` (what sentry-cli and Sentry's
// integrations send). The 401 names what is wrong, never whether a given token once existed.

export async function authenticate(req: IncomingMessage, pool: pg.Pool): Promise<Principal> {
  const h = req.headers.authorization;
  if (!h) throw new HttpError('unauthorized', 'Authentication credentials were not provided: send Authorization: Bearer <token>');
  const m = /^Bearer\s+(\S+)\s*$/i.exec(h);
  if (!m) throw new HttpError('unauthorized', 'Invalid authorization header: expected Bearer <token>');
  const row = await verifyToken(pool, m[1]!);
  // a token whose user was deleted is gone with it (ON DELETE CASCADE); null here is a race with that
  const principal = row ? await tokenPrincipal(pool, row) : null;
  if (!principal) throw new HttpError('unauthorized', 'Invalid token');
  return principal;
}
