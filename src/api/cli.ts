import { command, UsageError, type CliCommand } from '../cli/command.js';
import { parseScopes, type Scope } from '../auth/scopes.js';
import { createToken, listTokens, revokeToken } from './tokens.js';

// `crash-cache-cli token …`: API tokens for /api/0/ (sentry-cli's SENTRY_AUTH_TOKEN, scripts, integrations).

const tokenCreateCommand = command('token create', '  token create [--name NAME] [--scopes S,S…]               create an API token (all scopes unless given); prints it once', async ({ db, out }, _args, flags) => {
  const name = typeof flags.name === 'string' ? flags.name : '';
  let scopes: Scope[] | undefined;
  if (flags.scopes !== undefined) {
    const parsed = parseScopes(typeof flags.scopes === 'string' ? flags.scopes : '');
    if (typeof parsed === 'string') throw new UsageError(parsed);
    scopes = parsed;
  }
  const { token, row } = await createToken(db.pool, name, { scopes });
  out(`Token ${row.id}${name ? ` "${name}"` : ''} created with scopes ${row.scopes.join(' ')}. It is shown only now; store it safely:`);
  out(token);
}, { options: { name: 'string', scopes: 'string' } });

const tokenListCommand = command('token list', '  token list                                               list API tokens (id, prefix, name, last use)', async ({ db, out }) => {
  const rows = await listTokens(db.pool);
  if (!rows.length) out('No tokens. Create one with: crash-cache-cli token create --name NAME');
  for (const t of rows) {
    const used = t.last_used_at ? `last used ${t.last_used_at.toISOString()}` : 'never used';
    const state = t.revoked_at ? `revoked ${t.revoked_at.toISOString()}` : 'active';
    out(`${t.id}\t${t.prefix}…\t${t.name || '-'}\t${t.scopes.join(' ')}\tcreated ${t.created_at.toISOString()}\t${used}\t${state}`);
  }
}, { options: {} });

const tokenRevokeCommand = command('token revoke', '  token revoke <id|prefix>                                 revoke an API token (by id, or its first characters)', async ({ db, out }, args) => {
  const which = args[0];
  if (!which) throw new UsageError('token revoke needs a token id or prefix (see token list)');
  const rows = await revokeToken(db.pool, which);
  if (!rows.length) {
    out(`No active token ${which}.`);
    return 1;
  }
  out(`Revoked token ${rows[0]!.id} (${rows[0]!.prefix}…).`);
}, { options: {} });

export const commands: CliCommand[] = [tokenCreateCommand, tokenListCommand, tokenRevokeCommand];
