import { describe, expect, it } from 'vitest';
import { AuthError, authFromDsn, extractHttpAuth, parseAuthHeader, parseDsn } from '../../src/protocol/auth.js';

describe('Sentry auth parsing', () => {
  it('parses X-Sentry-Auth as SDKs send it (case, spaces, secret, timestamp)', () => {
    expect(parseAuthHeader('Sentry sentry_key=abc, sentry_version=7, sentry_client=sentry.python/1.9.10')).toEqual({
      sentry_key: 'abc',
      sentry_version: '7',
      sentry_client: 'sentry.python/1.9.10',
    });
    expect(parseAuthHeader('sentry sentry_key=abc,sentry_secret=s,sentry_timestamp=1')?.sentry_key).toBe('abc');
    expect(parseAuthHeader('Bearer xyz')).toBeNull();
    expect(parseAuthHeader(undefined)).toBeNull();
  });

  it('parses DSNs with secret keys and path prefixes', () => {
    expect(parseDsn('https://pub:secret@o1.ingest.sentry.io/42')).toEqual({ publicKey: 'pub', projectId: '42', base: 'https://o1.ingest.sentry.io' });
    expect(parseDsn('http://k@localhost:3000/sub/path/7/')).toEqual({ publicKey: 'k', projectId: '7', base: 'http://localhost:3000/sub/path' });
    expect(parseDsn('http://localhost/7')).toBeNull();
    expect(parseDsn('not a dsn')).toBeNull();
    expect(parseDsn(42)).toBeNull();
  });

  it('takes the key from the header, Authorization or query, and refuses conflicting keys', () => {
    const q = new URLSearchParams('sentry_version=7&sentry_key=k1&sentry_client=sentry.javascript.node%2F11.12.0');
    expect(extractHttpAuth({ query: q })).toEqual({ publicKey: 'k1', client: 'sentry.javascript.node/11.12.0', version: 7, source: 'query' });
    expect(extractHttpAuth({ authorization: 'Sentry sentry_key=k2' })?.publicKey).toBe('k2');
    expect(extractHttpAuth({ xSentryAuth: 'Sentry sentry_key=k1', query: q })?.client).toBe('sentry.javascript.node/11.12.0');
    expect(extractHttpAuth({ authorization: 'Bearer token', query: new URLSearchParams() })).toBeNull();
    expect(() => extractHttpAuth({ xSentryAuth: 'Sentry sentry_key=k9', query: q })).toThrow(/conflicting keys/);
    expect(() => extractHttpAuth({ xSentryAuth: 'Sentry sentry_version=7' })).toThrow(AuthError);
    expect(() => extractHttpAuth({ query: new URLSearchParams('sentry_key=k&sentry_version=8') })).toThrow(/unsupported protocol version/);
  });

  it('takes the key from an envelope dsn header', () => {
    expect(authFromDsn('http://k3@host/1')?.publicKey).toBe('k3');
    expect(authFromDsn(undefined)).toBeNull();
    expect(() => authFromDsn('garbage')).toThrow(/not a valid DSN/);
  });
});
