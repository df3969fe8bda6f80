import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AppContext } from '../context.js';
import { HttpError } from '../http/errors.js';
import { hasScope } from '../auth/access.js';
import type { Principal } from '../auth/principal.js';
import { parseScopes, SCOPES, type Scope } from '../auth/scopes.js';
import { createToken, listLiveTokens, revokeTokenOf } from '../api/tokens.js';
import { pageSession, postSession, uiPrincipal } from './auth.js';
import { html, type Html } from './html.js';
import { redirect, sendHtml } from './http.js';
import { csrfField, layout } from './layout.js';
import type { Session } from './sessions.js';

// API tokens in the web UI. Everyone makes their own, choosing scopes within their role's (a viewer
// makes read-only tokens); the token is shown once, and belongs to its maker (api_token.user_id), so
// it is capped by the maker's role at every use and dies with the user. Owners and admins (org:write)
// see and revoke every token, those made on the host with the CLI included.

const fmt = (d: Date | null) => (d ? d.toISOString().slice(0, 16).replace('T', ' ') : '—');

/** Whether this user sees and revokes everyone's tokens. */
const seesAll = (who: Principal) => hasScope(who, 'org:write');

async function page(ctx: AppContext, session: Session, who: Principal, msg: { error?: string; notice?: Html }): Promise<Html> {
  const tokens = await listLiveTokens(ctx.db.pool, seesAll(who) ? null : who.userId);
  const allowed = who.scopes;
  return layout({ title: 'API tokens', session, section: 'tokens', body: html`<h1>API tokens</h1>
${msg.error ? html`<p class="error" role="alert">${msg.error}</p>` : ''}${msg.notice ? html`<div class="notice" role="status">${msg.notice}</div>` : ''}
<p class="muted">A token is sent as <code>Authorization: Bearer …</code> to the <code>/api/0/</code> API and by sentry-cli (<code>SENTRY_AUTH_TOKEN</code>). It can do what its scopes allow and your role allows, now and later: if your role is lowered, so are your tokens.${seesAll(who) ? ' As an owner or admin you see everyone\'s tokens.' : ''}</p>
${tokens.length ? html`<table id="tokens"><thead><tr><th>Name</th><th>Token</th><th>Scopes</th>${seesAll(who) ? html`<th>Owner</th>` : ''}<th>Created (UTC)</th><th>Last used</th><th></th></tr></thead><tbody>
${tokens.map((t) => html`<tr class="token" data-id="${t.id}"><td>${t.name || html`<span class="muted">—</span>`}</td><td class="mono">${t.prefix}…</td><td class="scopes">${t.scopes.join(' ')}</td>
${seesAll(who) ? html`<td>${t.user_email ?? html`<span class="muted">host (CLI)</span>`}</td>` : ''}<td class="mono">${fmt(t.created_at)}</td><td class="mono">${fmt(t.last_used_at)}</td>
<td><form method="post" action="/tokens/${t.id}/revoke" class="inline">${csrfField(session)}<button type="submit">Revoke</button></form></td></tr>`)}
</tbody></table>` : html`<p class="muted">No tokens.</p>`}
<h2>New token</h2>
<form method="post" action="/tokens" id="new-token-form">${csrfField(session)}
<label for="token-name">Name</label><input id="token-name" name="name" maxlength="200" size="40" placeholder="sentry-cli on CI">
<fieldset><legend>Scopes</legend>
${SCOPES.map((s) => html`<label><input type="checkbox" name="scope" value="${s}" id="scope-${s.replace(':', '-')}"${allowed.has(s) ? '' : html` disabled`}${s.endsWith(':read') ? html` checked` : ''}> ${s}${allowed.has(s) ? '' : html` <span class="muted">(beyond your role, ${who.role})</span>`}</label>`)}
</fieldset>
<p><button type="submit" class="primary">Create token</button></p>
</form>` });
}

export async function getTokens(ctx: AppContext, req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
  const session = await pageSession(ctx, req, res, url);
  if (!session) return;
  const who = await uiPrincipal(ctx, session);
  sendHtml(res, 200, await page(ctx, session, who, url.searchParams.has('revoked') ? { notice: html`<p>Token revoked.</p>` } : {}));
}

export async function postToken(ctx: AppContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const { session, form } = await postSession(ctx, req);
  const who = await uiPrincipal(ctx, session);
  const parsed = parseScopes(form.getAll('scope'));
  if (typeof parsed === 'string') throw new HttpError('invalid_request', parsed);
  // a session's scopes are its role's, the ceiling: a token cannot be made to do what its maker cannot
  const beyond = parsed.filter((s: Scope) => !who.scopes.has(s));
  if (beyond.length) throw new HttpError('invalid_request', `your role (${who.role}) does not have ${beyond.join(', ')}; a token can only have scopes of its maker's role`);
  const name = (form.get('name') ?? '').trim().slice(0, 200);
  const { token, row } = await createToken(ctx.db.pool, name, { scopes: parsed, userId: who.userId });
  ctx.log.info('token created', { token: row.id, user: who.userId, scopes: row.scopes.join(' ') });
  sendHtml(res, 200, await page(ctx, session, who, { notice: html`<p>Token ${row.prefix}… created with ${row.scopes.join(' ')}. It is shown only now; store it safely:</p><p><code id="new-token" data-copy>${token}</code></p>` }));
}

export async function postTokenRevoke(ctx: AppContext, req: IncomingMessage, res: ServerResponse, id: string): Promise<void> {
  const { session } = await postSession(ctx, req);
  const who = await uiPrincipal(ctx, session);
  if (!/^\d{1,15}$/.test(id)) throw new HttpError('not_found', `no token ${id}`);
  if (!(await revokeTokenOf(ctx.db.pool, Number(id), seesAll(who) ? null : who.userId))) {
    throw new HttpError('forbidden', `You do not have permission to perform this action: token ${id} is not one of your live tokens`);
  }
  ctx.log.info('token revoked', { token: Number(id), by: who.userId });
  redirect(res, '/tokens?revoked=1');
}
