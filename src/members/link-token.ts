import { createHash, randomBytes } from 'node:crypto';

// The secret of a link e-mailed or shown once (invites, password resets): 256 random bits as 43
// base64url characters. Only its sha-256 is stored, so a copy of the database opens nothing.

const TOKEN = /^[A-Za-z0-9_-]{43}$/;

export function newLinkToken(): { token: string; sha256: Buffer } {
  const token = randomBytes(32).toString('base64url');
  return { token, sha256: linkTokenHash(token)! };
}

/** The stored form of a presented token; null when it cannot be one (mistyped, cut). */
export function linkTokenHash(token: string): Buffer | null {
  return TOKEN.test(token) ? createHash('sha256').update(token, 'utf8').digest() : null;
}
