import type { ServerResponse } from 'node:http';
import * as oidc from 'openid-client';
import type { AppContext } from '../context.js';
import { oidcClient } from '../oidc/client.js';
import { html } from './html.js';
import { sendHtml } from './http.js';
import { layout } from './layout.js';

// Logout of a session opened through the provider (src/ui/oidc-login.ts): after the local session is
// deleted (src/ui/login.ts postLogout), RP-initiated logout at the provider's end_session_endpoint with
// the session's ID token as id_token_hint and PUBLIC_URL/login as post_logout_redirect_uri.

/** The provider's end-session URL for a session opened with `idToken`, or null when there is none (yet). */
export function endSessionUrl(ctx: AppContext, idToken: string): string | null {
  const client = oidcClient(ctx);
  const config = client?.current();
  if (!client || !config?.serverMetadata().end_session_endpoint) return null;
  return oidc.buildEndSessionUrl(config, { id_token_hint: idToken, post_logout_redirect_uri: client.postLogoutRedirectUri }).href;
}

/**
 * After logout, on to the provider's end-session endpoint. Not a 303: logout is a form POST, and the
 * pages' CSP `form-action 'self'` also governs where a form's redirects may go, so browsers would stop a
 * redirect to the provider. A page that refreshes to it (the Refresh header; and links it) starts a
 * navigation of its own.
 */
export function sendLoggedOut(res: ServerResponse, provider: string, to: string, headers: Record<string, string | string[]>): void {
  const page = layout({
    title: 'Logged out',
    body: html`<div class="login">
<h1>Logged out</h1>
<p>You are logged out of crash-cache. <a id="provider-logout" href="${to}">Continue to log out of ${provider}</a>.</p>
</div>`,
  });
  sendHtml(res, 200, page, { ...headers, refresh: `0;url=${to}` });
}
