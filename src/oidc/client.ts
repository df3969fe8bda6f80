import * as oidc from 'openid-client';
import type { Config } from '../config/index.js';
import type { Logger } from '../log.js';

// The provider as openid-client knows it: its discovery document, read once (then JWKS are fetched and
// refreshed by the library as keys rotate). The provider may be down when crash-cache starts, or go down
// later: start-up never waits for it or fails because of it. A failed discovery is logged, shown on the
// login page (`status()`), and retried in the background (RETRY_FIRST_MS, doubling to RETRY_MAX_MS) and
// on demand when someone clicks "Log in with …" (at most once per RETRY_ON_DEMAND_MS, one at a time, so
// anonymous clicks cannot make us hammer a provider that is down).
//
// Outbound: the issuer is the operator's own setting, so requests to it are made even when it resolves
// to an internal address (Keycloak on the same network is the usual case) — unlike alert webhooks,
// whose URLs any UI user writes (src/alerts/outbound.ts). An http:// issuer is accepted (a provider on
// the same host, the tests) with a warning: tokens then cross the network in clear.

const RETRY_FIRST_MS = 5_000;
const RETRY_MAX_MS = 5 * 60_000;
const RETRY_ON_DEMAND_MS = 2_000;
/** Seconds any one request to the provider may take (discovery, token, userinfo). */
const TIMEOUT_SECS = 10;

export class OidcUnavailableError extends Error {}

export interface OidcStatus {
  ready: boolean;
  /** Why discovery failed, for the login page; null while it has not failed. */
  error: string | null;
}

export class OidcClient {
  readonly redirectUri: string;
  readonly postLogoutRedirectUri: string;
  private config: oidc.Configuration | null = null;
  private lastError: string | null = null;
  private lastAttempt = 0;
  private inflight: Promise<void> | null = null;
  private timer: NodeJS.Timeout | null = null;
  private retryMs = RETRY_FIRST_MS;

  constructor(
    private readonly settings: Readonly<Config> & { oidcIssuer: string; oidcClientId: string },
    private readonly log: Logger,
  ) {
    this.redirectUri = `${settings.publicUrl}/login/oidc/callback`;
    this.postLogoutRedirectUri = `${settings.publicUrl}/login`;
    if (settings.oidcIssuer.startsWith('http:')) {
      log.warn('OIDC_ISSUER is plain http: tokens cross the network unencrypted; use https outside a single host', { issuer: settings.oidcIssuer });
    }
  }

  get issuer(): string {
    return this.settings.oidcIssuer;
  }

  /** Starts discovery in the background; failures are retried on a timer that does not keep the process alive. */
  start(): void {
    void this.attempt();
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  status(): OidcStatus {
    return { ready: this.config !== null, error: this.config ? null : this.lastError };
  }

  /** The discovered configuration if discovery has succeeded, without waiting. */
  current(): oidc.Configuration | null {
    return this.config;
  }

  /** The discovered configuration, discovering again now if it failed a while ago; throws OidcUnavailableError. */
  async configuration(): Promise<oidc.Configuration> {
    if (this.config) return this.config;
    if (this.inflight) await this.inflight;
    else if (Date.now() - this.lastAttempt >= RETRY_ON_DEMAND_MS) await this.attempt();
    if (this.config) return this.config;
    throw new OidcUnavailableError(`the identity provider cannot be reached: ${this.lastError ?? 'discovery has not finished yet'}`);
  }

  private attempt(): Promise<void> {
    if (this.inflight) return this.inflight;
    this.lastAttempt = Date.now();
    this.inflight = this.discover().finally(() => (this.inflight = null));
    return this.inflight;
  }

  private async discover(): Promise<void> {
    const s = this.settings;
    try {
      const insecure = s.oidcIssuer.startsWith('http:');
      const auth = s.oidcClientSecret ? oidc.ClientSecretBasic(s.oidcClientSecret) : oidc.None();
      const config = await oidc.discovery(new URL(s.oidcIssuer), s.oidcClientId, undefined, auth, {
        timeout: TIMEOUT_SECS,
        execute: insecure ? [oidc.allowInsecureRequests] : [],
      });
      this.config = config;
      this.lastError = null;
      this.stop();
      const meta = config.serverMetadata();
      this.log.info('oidc provider discovered', { issuer: meta.issuer, end_session: !!meta.end_session_endpoint });
    } catch (e) {
      this.lastError = errorReason(e);
      this.log.error('oidc discovery failed', { issuer: s.oidcIssuer, error: this.lastError, retry_in_secs: this.retryMs / 1000 });
      this.stop();
      this.timer = setTimeout(() => void this.attempt(), this.retryMs);
      this.timer.unref();
      this.retryMs = Math.min(this.retryMs * 2, RETRY_MAX_MS);
    }
  }
}

/** A short reason for the log and the login page: no stack, no response body, nothing secret. */
export function errorReason(e: unknown): string {
  const err = e as Error & { code?: string; cause?: { code?: string; message?: string } };
  const cause = err?.cause?.message ?? err?.cause?.code;
  const msg = `${err?.message ?? String(e)}${cause ? ` (${cause})` : ''}`;
  return msg.slice(0, 300);
}

// One client per server process (its AppContext), made when the UI routes are registered.
const clients = new WeakMap<object, OidcClient>();

/** The OIDC client of this context, or null when OIDC_ISSUER is unset. */
export function oidcClient(ctx: { config: Readonly<Config>; log: Logger }): OidcClient | null {
  const c = ctx.config;
  if (!c.oidcIssuer || !c.oidcClientId) return null;
  let client = clients.get(ctx);
  if (!client) {
    client = new OidcClient(c as Readonly<Config> & { oidcIssuer: string; oidcClientId: string }, ctx.log);
    clients.set(ctx, client);
  }
  return client;
}
