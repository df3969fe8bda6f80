import { HttpError } from '../http/errors.js';
import { sendJson } from '../http/respond.js';
import type { Principal } from '../auth/principal.js';
import { parseScopes } from '../auth/scopes.js';
import { readJsonBody } from './body.js';
import type { ApiHandler as H } from './routes.js';
import { createToken, listLiveTokens, revokeTokenOf, type TokenRow } from './tokens.js';

// Sentry's user token endpoint, /api/0/api-tokens/: a user's own API tokens, for scripts that rotate
// them. A token may only make tokens with scopes it has itself (its own, capped by its user's role), so
// minting never widens what the caller can do; the new token belongs to the same user and is capped by
// that user's role from then on. A token made on the host belongs to no user: those are managed with
// `crash-cache-cli token`.

function userOf(who: Principal): number {
  if (who.userId === null) throw new HttpError('invalid_request', 'this token was made on the host and belongs to no user; manage host tokens with crash-cache-cli token');
  return who.userId;
}

function serialize(t: TokenRow, token?: string) {
  return {
    id: String(t.id),
    name: t.name || null,
    scopes: t.scopes,
    application: null,
    expiresAt: null,
    dateCreated: t.created_at.toISOString(),
    dateLastUsed: t.last_used_at?.toISOString() ?? null,
    state: null,
    tokenLastCharacters: t.prefix.slice(-4),
    ...(token ? { token } : {}),
  };
}

export const list: H = async (ctx, _req, res, _params, _url, who) => {
  sendJson(res, 200, (await listLiveTokens(ctx.db.pool, userOf(who))).map((t) => serialize(t)));
};

/** POST {scopes: [...], name?}: 201 with the token, shown this once. */
export const create: H = async (ctx, req, res, _params, _url, who) => {
  const userId = userOf(who);
  const body = await readJsonBody(req);
  if (!Array.isArray(body.scopes)) throw new HttpError('invalid_request', 'scopes must be a list of scopes, e.g. ["event:read"]');
  const scopes = parseScopes(body.scopes);
  if (typeof scopes === 'string') throw new HttpError('invalid_request', scopes);
  const beyond = scopes.filter((s) => !who.scopes.has(s));
  if (beyond.length) throw new HttpError('forbidden', `You do not have permission to perform this action: this token lacks ${beyond.join(', ')}, and a token cannot make a token with more than it has`);
  if (body.name !== undefined && typeof body.name !== 'string') throw new HttpError('invalid_request', 'name must be a string');
  const name = ((body.name as string | undefined) ?? '').trim().slice(0, 200);
  const { token, row } = await createToken(ctx.db.pool, name, { scopes, userId });
  ctx.log.info('token created', { token: row.id, user: userId, by_token: who.tokenId, scopes: row.scopes.join(' ') });
  sendJson(res, 201, serialize(row, token));
};

/** DELETE {tokenId}: revokes one of the user's own tokens (204). */
export const remove: H = async (ctx, req, res, _params, _url, who) => {
  const userId = userOf(who);
  const body = await readJsonBody(req);
  const id = typeof body.tokenId === 'number' || typeof body.tokenId === 'string' ? String(body.tokenId) : '';
  if (!/^\d{1,15}$/.test(id)) throw new HttpError('invalid_request', 'tokenId must be a token id');
  if (!(await revokeTokenOf(ctx.db.pool, Number(id), userId))) throw new HttpError('not_found', 'The requested resource does not exist');
  ctx.log.info('token revoked', { token: Number(id), by: userId });
  res.writeHead(204).end();
};
