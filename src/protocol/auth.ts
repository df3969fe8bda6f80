// Where a Sentry client puts its public key (shared/docs/sentry-protocol.md §1–2), parsed without I/O:
// the X-Sentry-Auth header, an `Authorization: Sentry …` header, the `sentry_key` query parameter, or
// the envelope header's `dsn` (tunnels). The secret key is deprecated: accepted and ignored.

/** The highest `sentry_version` we speak (Relay's PROTOCOL_VERSION). */
export const PROTOCOL_VERSION = 7;

export interface Dsn {
  publicKey: string;
  projectId: string;
  /** scheme://host[:port][/path] without the project id. */
  base: string;
}

export interface ClientAuth {
  publicKey: string;
  /** sentry_client, when the client named itself. */
  client: string | null;
  version: number | null;
  source: 'x-sentry-auth' | 'authorization' | 'query' | 'dsn';
}

export class AuthError extends Error {
  constructor(
    readonly kind: 'invalid' | 'missing',
    message: string,
  ) {
    super(message);
  }
}

/**
 * Parses `Sentry sentry_key=…, sentry_version=7, sentry_client=…`; null when the value is not Sentry
 * auth (e.g. `Authorization: Bearer …`). Keys are lowercased; values keep their case.
 */
export function parseAuthHeader(value: string | undefined | null): Record<string, string> | null {
  if (!value) return null;
  const m = /^\s*sentry\s+/i.exec(value);
  if (!m) return null;
  const out: Record<string, string> = {};
  for (const part of value.slice(m[0].length).split(',')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    const k = part.slice(0, eq).trim().toLowerCase();
    const v = part.slice(eq + 1).trim();
    if (k) out[k] = v;
  }
  return out;
}

/** `{scheme}://{public_key}[:{secret}]@{host}[:{port}]{path}/{project_id}`; null when it is not one. */
export function parseDsn(dsn: unknown): Dsn | null {
  if (typeof dsn !== 'string') return null;
  let u: URL;
  try {
    u = new URL(dsn);
  } catch {
    return null;
  }
  if (!u.username) return null;
  const segs = u.pathname.replace(/\/+$/, '').split('/');
  const projectId = segs.pop() ?? '';
  if (!projectId) return null;
  return {
    publicKey: decodeURIComponent(u.username),
    projectId,
    base: `${u.protocol}//${u.host}${segs.join('/')}`,
  };
}

function parseVersion(v: string | undefined | null): number | null {
  if (v === undefined || v === null || v === '') return null;
  const n = Number.parseFloat(v);
  if (!Number.isFinite(n)) throw new AuthError('invalid', `sentry_version ${JSON.stringify(v)} is not a number`);
  if (n > PROTOCOL_VERSION) throw new AuthError('invalid', `unsupported protocol version sentry_version=${v} (this server speaks ${PROTOCOL_VERSION})`);
  return n;
}

export interface AuthSources {
  xSentryAuth?: string | undefined;
  authorization?: string | undefined;
  query?: URLSearchParams;
}

/**
 * The key the request authenticates with, from the HTTP places (header, Authorization, query), or
 * null when it carries none there — an envelope may still name one in its `dsn` header
 * (`authFromDsn`). Several places naming different keys is an error (Relay: MultipleAuth); the same
 * key twice is tolerated.
 */
export function extractHttpAuth(src: AuthSources): ClientAuth | null {
  const found: ClientAuth[] = [];
  const fromPairs = (pairs: Record<string, string> | null, source: ClientAuth['source']) => {
    if (!pairs) return;
    const key = pairs.sentry_key;
    if (!key) throw new AuthError('missing', `${source} header has no sentry_key`);
    found.push({ publicKey: key, client: pairs.sentry_client || null, version: parseVersion(pairs.sentry_version), source });
  };
  fromPairs(parseAuthHeader(src.xSentryAuth), 'x-sentry-auth');
  fromPairs(parseAuthHeader(src.authorization), 'authorization');
  const q = src.query;
  const qKey = q?.get('sentry_key');
  if (qKey) found.push({ publicKey: qKey, client: q!.get('sentry_client') || null, version: parseVersion(q!.get('sentry_version')), source: 'query' });
  if (found.length === 0) return null;
  const first = found[0]!;
  for (const other of found.slice(1)) {
    if (other.publicKey !== first.publicKey) throw new AuthError('invalid', `conflicting keys in ${first.source} and ${other.source}`);
  }
  return { ...first, client: found.find((f) => f.client)?.client ?? null };
}

/** Auth from an envelope header `dsn` (tunnels); null when it has none. */
export function authFromDsn(dsnValue: unknown): ClientAuth | null {
  if (dsnValue === undefined || dsnValue === null) return null;
  const dsn = parseDsn(dsnValue);
  if (!dsn) throw new AuthError('invalid', `envelope header dsn is not a valid DSN`);
  return { publicKey: dsn.publicKey, client: null, version: null, source: 'dsn' };
}

/** A key as stored (project_key.public_key's CHECK); anything else cannot be a key of ours. */
export function isWellFormedKey(key: string): boolean {
  return /^[0-9a-zA-Z_-]{1,64}$/.test(key);
}
