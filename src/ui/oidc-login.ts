import type { IncomingMessage, ServerResponse } from 'node:http';
import * as oidc from 'openid-client';
import type { AppContext } from '../context.js';
import { HttpError } from '../http/errors.js';
import { OidcRefused, admittedEmail, userForAccount, type ProviderClaims } from '../oidc/accounts.js';
import { OidcUnavailableError, errorReason, oidcClient, type OidcClient } from '../oidc/client.js';
import { MAX_AGE_SECS, openState, sealState } from '../oidc/state-cookie.js';
import { cookieNames, currentSession } from './auth.js';
import { cookie, parseCookies, redirect, safeNext } from './http.js';
import { showLogin } from './login.js';
import { SESSION_IDLE_DAYS, createSession } from './sessions.js';

// Log-in through an OpenID Connect provider: authorization code flow with PKCE (S256), state and nonce,
// with openid-client doing the protocol checks (issuer, signature, audience, expiry, nonce, at_hash, the
// iss response parameter). GET /login/oidc sends the browser to the provider; the provider sends it
// back to GET /login/oidc/callback (PUBLIC_URL + that path is the redirect URI to register), which makes
// a normal session (src/ui/sessions.ts). Every refusal or failure is the login page with a message and
// a 4xx (502 when the provider cannot be reached): a session and a user are made only at the very end.

const SCOPE = 'openid email profile';
/** Longest ?next= carried through the provider: the whole state must stay one cookie (< 4 KB). */
const MAX_NEXT_CHARS = 1000;

function stateCookieName(ctx: AppContext, req: IncomingMessage): { name: string; secure: boolean } {
  const names = cookieNames(ctx, req);
  return { name: names.secure ? '__Host-cc_oidc' : 'cc_oidc', secure: names.secure };
}

function requireClient(ctx: AppContext): OidcClient {
  const client = oidcClient(ctx);
  if (!client) throw new HttpError('not_found', 'single sign-on is not configured on this server (OIDC_ISSUER)');
  return client;
}

/** GET /login/oidc: remember state, nonce and verifier in a signed cookie and send the browser to the provider. */
export async function getOidcStart(ctx: AppContext, req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
  const client = requireClient(ctx);
  let next = safeNext(url.searchParams.get('next'));
  if (next.length > MAX_NEXT_CHARS) next = '/';
  if (await currentSession(ctx, req)) return redirect(res, next);
  let config: oidc.Configuration;
  try {
    config = await client.configuration();
  } catch (e) {
    if (!(e instanceof OidcUnavailableError)) throw e;
    return showLogin(ctx, req, res, 502, next, `Cannot log in with ${ctx.config.oidcProviderName} right now: ${e.message}. Try again in a minute.`);
  }
  const verifier = oidc.randomPKCECodeVerifier();
  const state = oidc.randomState();
  const nonce = oidc.randomNonce();
  const to = oidc.buildAuthorizationUrl(config, {
    redirect_uri: client.redirectUri,
    scope: SCOPE,
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
    nonce,
  });
  const c = stateCookieName(ctx, req);
  const sealed = await sealState(ctx.db.pool, { state, nonce, verifier, next });
  redirect(res, to.href, { 'set-cookie': cookie(c.name, sealed, { secure: c.secure, maxAgeSecs: MAX_AGE_SECS }) });
}

/** GET /login/oidc/callback: check the provider's answer, find or make the user, open a session. */
export async function getOidcCallback(ctx: AppContext, req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
  const client = requireClient(ctx);
  const c = stateCookieName(ctx, req);
  // the state cookie is deleted by every answer below, whatever the outcome
  const clearState = cookie(c.name, '', { secure: c.secure, maxAgeSecs: 0 });
  const saved = await openState(ctx.db.pool, parseCookies(req)[c.name]);
  const refuse = (status: number, message: string) => showLogin(ctx, req, res, status, saved?.next ?? '/', message, { 'set-cookie': [clearState] });
  const provider = ctx.config.oidcProviderName;
  if (!saved) {
    return refuse(400, `This log-in with ${provider} expired or was not started in this browser (its cookie is missing or altered). Start again.`);
  }
  let config: oidc.Configuration;
  try {
    config = await client.configuration();
  } catch (e) {
    if (!(e instanceof OidcUnavailableError)) throw e;
    return refuse(502, `Cannot log in with ${provider} right now: ${e.message}.`);
  }
  let claims: ProviderClaims & { sub: string };
  let idToken: string;
  try {
    // the redirect URI as registered, with the provider's parameters: openid-client checks state and iss
    // here, sends the verifier, and validates the ID token (signature, iss, aud, exp, nonce)
    const current = new URL(client.redirectUri);
    current.search = url.search;
    const tokens = await oidc.authorizationCodeGrant(config, current, {
      pkceCodeVerifier: saved.verifier,
      expectedState: saved.state,
      expectedNonce: saved.nonce,
      idTokenExpected: true,
    });
    const idClaims = tokens.claims()!;
    claims = { ...idClaims };
    idToken = tokens.id_token!;
    // Providers that follow the spec to the letter (oidc-provider, some Keycloak set-ups) put the email
    // scope's claims in UserInfo only, when an access token is issued.
    if (typeof idClaims.email !== 'string' && config.serverMetadata().userinfo_endpoint) {
      const info = await oidc.fetchUserInfo(config, tokens.access_token, idClaims.sub);
      claims = { ...info, ...idClaims, email: info.email, email_verified: idClaims.email_verified ?? info.email_verified };
    }
  } catch (e) {
    const f = failure(e, provider);
    ctx.log.warn('oidc log-in failed', { status: f.status, error: errorReason(e) });
    return refuse(f.status, f.message);
  }
  try {
    const email = admittedEmail(claims, ctx.config.oidcAllowedDomains);
    const { user, how } = await userForAccount(ctx.db.pool, client.issuer, claims.sub, email, ctx.config.oidcDefaultRole);
    ctx.log.info('oidc log-in', { user_id: user.id, email: user.email, how, ...(how === 'created' ? { role: user.role } : {}) });
    const { token } = await createSession(ctx.db.pool, user.id, { oidcIdToken: idToken });
    const names = cookieNames(ctx, req);
    redirect(res, safeNext(saved.next), {
      'set-cookie': [clearState, cookie(names.session, token, { secure: names.secure, maxAgeSecs: SESSION_IDLE_DAYS * 86400 })],
    });
  } catch (e) {
    if (!(e instanceof OidcRefused)) throw e;
    ctx.log.info('oidc log-in refused', { sub: claims.sub.slice(0, 255), reason: e.message });
    return refuse(e.status, e.message);
  }
}

/** Status and message of a failed exchange with the provider. Its own error texts are logged, not shown. */
function failure(e: unknown, provider: string): { status: number; message: string } {
  if (e instanceof oidc.AuthorizationResponseError) {
    const code = /^[a-z_]{1,64}$/.test(e.error) ? e.error : 'error';
    if (code === 'access_denied') return { status: 403, message: `${provider} did not let you log in (access_denied).` };
    return { status: 400, message: `${provider} refused the log-in (${code}). Start again.` };
  }
  if (e instanceof oidc.ResponseBodyError) {
    return { status: 400, message: `${provider} refused to complete the log-in (${/^[a-z_]{1,64}$/.test(e.error) ? e.error : 'error'}). Start again.` };
  }
  const err = e as { code?: string; name?: string; message?: string; cause?: { message?: string } };
  // openid-client wraps the check that failed as `cause`
  const what = `${err.message ?? ''} ${err.cause?.message ?? ''}`;
  if (/"state"/.test(what)) {
    return { status: 400, message: `The answer from ${provider} does not belong to the log-in started in this browser (state mismatch). Start again.` };
  }
  // fetch failed (refused, reset, DNS), the provider took longer than the client's timeout, or answered
  // its token endpoint with a server error or no JSON
  const unreachable = ['OAUTH_TIMEOUT', 'OAUTH_ABORT', 'OAUTH_RESPONSE_IS_NOT_CONFORM', 'OAUTH_RESPONSE_IS_NOT_JSON'];
  if (e instanceof TypeError || err.name === 'TimeoutError' || err.name === 'AbortError' || unreachable.includes(err.code ?? '')) {
    return { status: 502, message: `${provider} cannot be reached right now, or failed. Try again in a minute.` };
  }
  if (e instanceof oidc.ClientError || (err.code ?? '').startsWith('OAUTH_')) {
    return { status: 400, message: `The answer from ${provider} failed validation and was not accepted. Start again.` };
  }
  throw e;
}
