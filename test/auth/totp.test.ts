import { describe, expect, it } from 'vitest';
import { base32, currentStep, matchTotp, otpauthUri, totpCode } from '../../src/auth/totp.js';
import { hotp } from '../helpers/totp.js';

// TOTP against RFC 6238's own test vectors (SHA-1 seed, 8 digits), RFC 4648's base32 vectors, and the
// rules of acceptance: 6 digits, one step either side, never a step at or before the last one used.

const SEED = Buffer.from('12345678901234567890');

describe('TOTP', () => {
  it('matches RFC 6238 appendix B (SHA-1)', () => {
    const vectors: [number, string][] = [[59, '94287082'], [1111111109, '07081804'], [1111111111, '14050471'], [1234567890, '89005924'], [2000000000, '69279037'], [20000000000, '65353130']];
    for (const [t, code] of vectors) expect(totpCode(SEED, Math.floor(t / 30), 8)).toBe(code);
  });

  it('takes a 6-digit code of now or one step away, once', () => {
    const now = 1_700_000_000_000;
    const step = currentStep(now);
    expect(matchTotp(SEED, totpCode(SEED, step), null, now)).toBe(step);
    expect(matchTotp(SEED, totpCode(SEED, step - 1), null, now)).toBe(step - 1);
    expect(matchTotp(SEED, totpCode(SEED, step + 1), null, now)).toBe(step + 1);
    expect(matchTotp(SEED, totpCode(SEED, step - 2), null, now)).toBeNull();
    // replay: the step of the last accepted code, or an earlier one, is refused
    expect(matchTotp(SEED, totpCode(SEED, step), step, now)).toBeNull();
    expect(matchTotp(SEED, totpCode(SEED, step - 1), step - 1, now)).toBeNull();
    expect(matchTotp(SEED, totpCode(SEED, step + 1), step, now)).toBe(step + 1);
    for (const bad of ['', '12345', '1234567', 'abcdef', ' 123456']) expect(matchTotp(SEED, bad, null, now)).toBeNull();
  });

  it('agrees with the tests\' own HOTP, written from the RFC (test/helpers/totp.ts)', () => {
    // RFC 4226 appendix D
    expect([0, 1, 2, 3, 4, 5, 6, 7, 8, 9].map((i) => hotp(SEED, i))).toEqual(['755224', '287082', '359152', '969429', '338314', '254676', '287922', '162583', '399871', '520489']);
    for (const i of [0, 1, 9, 56_666_666]) expect(totpCode(SEED, i)).toBe(hotp(SEED, i));
  });

  it('base32 and the otpauth URI', () => {
    expect(['', 'f', 'fo', 'foo', 'foob', 'fooba', 'foobar'].map((s) => base32(Buffer.from(s)))).toEqual(['', 'MY', 'MZXQ', 'MZXW6', 'MZXW6YQ', 'MZXW6YTB', 'MZXW6YTBOI']);
    expect(otpauthUri(SEED, 'dev@example.com', 'crash-cache')).toBe(`otpauth://totp/crash-cache%3Adev%40example.com?secret=${base32(SEED)}&issuer=crash-cache&algorithm=SHA1&digits=6&period=30`);
  });
});
