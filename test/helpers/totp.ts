import { createHmac } from 'node:crypto';

// An authenticator app's side of TOTP, written here from RFC 4226/6238 (not src/auth/totp.ts), for the
// tests that log in with two-factor log-in.

export function fromBase32(s: string): Buffer {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = '';
  for (const c of s.replace(/\s/g, '')) bits += alphabet.indexOf(c).toString(2).padStart(5, '0');
  return Buffer.from(bits.match(/.{8}/g)!.map((b) => parseInt(b, 2)));
}

/** HOTP of `counter` (RFC 4226 section 5.3), 6 digits. */
export function hotp(key: Buffer, counter: number): string {
  const c = Buffer.alloc(8);
  c.writeUInt32BE(Math.floor(counter / 2 ** 32), 0);
  c.writeUInt32BE(counter % 2 ** 32, 4);
  const h = createHmac('sha1', key).update(c).digest();
  const o = h[19]! & 15;
  return String((((h[o]! & 0x7f) << 24) | (h[o + 1]! << 16) | (h[o + 2]! << 8) | h[o + 3]!) % 1_000_000).padStart(6, '0');
}

/** The app's code `offset` 30-second steps from now. */
export function appCode(secret: Buffer, offset = 0): string {
  return hotp(secret, Math.floor(Date.now() / 30_000) + offset);
}
