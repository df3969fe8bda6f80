import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

// Time-based one-time passwords (RFC 6238 over RFC 4226's HOTP) as every authenticator app computes
// them by default: HMAC-SHA1, 30-second steps, 6 digits. node:crypto does the HMAC; the rest is the
// RFCs' few lines (test/auth/totp.test.ts checks RFC 6238's own test vectors).

export const STEP_SECS = 30;
const DIGITS = 6;
/** Steps either side of now a code is taken from: a phone clock 30 s off, or a code typed as it changed. */
const DRIFT_STEPS = 1;
const SECRET_BYTES = 20;

/** A new secret: 160 random bits, RFC 4226's recommended length. */
export function newTotpSecret(): Buffer {
  return randomBytes(SECRET_BYTES);
}

/** The code of time step `step` (RFC 4226 dynamic truncation). */
export function totpCode(secret: Buffer, step: number, digits = DIGITS): string {
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(step));
  const mac = createHmac('sha1', secret).update(counter).digest();
  const offset = mac[mac.length - 1]! & 0x0f;
  const bin = mac.readUInt32BE(offset) & 0x7fffffff;
  return String(bin % 10 ** digits).padStart(digits, '0');
}

export function currentStep(nowMs = Date.now()): number {
  return Math.floor(nowMs / 1000 / STEP_SECS);
}

/**
 * The time step whose code `code` is, within DRIFT_STEPS of now and after `lastStep` (a code once
 * accepted cannot be used again: someone who saw it typed gets nothing), or null.
 */
export function matchTotp(secret: Buffer, code: string, lastStep: number | null, nowMs = Date.now()): number | null {
  if (!/^\d{6}$/.test(code)) return null;
  const now = currentStep(nowMs);
  const given = Buffer.from(code);
  for (let s = now - DRIFT_STEPS; s <= now + DRIFT_STEPS; s++) {
    if (lastStep !== null && s <= lastStep) continue;
    if (timingSafeEqual(Buffer.from(totpCode(secret, s)), given)) return s;
  }
  return null;
}

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/** RFC 4648 base32 without padding: how authenticator apps take a secret typed in. */
export function base32(bytes: Buffer): string {
  let out = '';
  let bits = 0;
  let value = 0;
  for (const b of bytes) {
    value = ((value << 8) | b) & 0xffff; // at most 12 bits are pending
    bits += 8;
    while (bits >= 5) {
      out += BASE32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += BASE32[(value << (5 - bits)) & 31];
  return out;
}

/** The otpauth:// URI an authenticator app reads from the QR code (Google Authenticator's Key Uri Format). */
export function otpauthUri(secret: Buffer, account: string, issuer: string): string {
  const label = encodeURIComponent(`${issuer}:${account}`);
  return `otpauth://totp/${label}?secret=${base32(secret)}&issuer=${encodeURIComponent(issuer)}&algorithm=SHA1&digits=${DIGITS}&period=${STEP_SECS}`;
}
