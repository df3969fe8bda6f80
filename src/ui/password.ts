import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import { HttpError } from '../http/errors.js';

// Passwords are hashed with scrypt (memory-hard). N = 2^16, r = 8, p = 2 is one of OWASP's
// equivalent minimums (Password Storage Cheat Sheet: 2^17/8/1, 2^16/8/2, 2^15/8/3, ...); it uses
// 128·N·r = 64 MiB per hash and took ~350 ms on the 2-core machine (2^15/8/1: 87 ms, 2^16/8/1:
// 174 ms, 2^17/8/1: 400-580 ms). The work runs on libuv's thread pool, not the event loop, and one
// hash at a time (below), so at most 64 MiB and one core go to it. Parameters are stored with each hash, so raising them later only
// affects new passwords.
const N = 1 << 16;
const R = 8;
const P = 2;
const KEY_LEN = 32;
const SALT_LEN = 16;

// One hash at a time: on 2 cores a flood of login attempts must not take both from ingest. Others
// wait their turn (~350 ms each); beyond MAX_WAITING the attempt is refused with 429 at once.
const MAX_WAITING = 16;
let running = false;
const waiting: (() => void)[] = [];

async function oneAtATime<T>(fn: () => Promise<T>): Promise<T> {
  if (running) {
    if (waiting.length >= MAX_WAITING) throw new HttpError('rate_limited', 'too many login attempts at once; retry in a few seconds', { 'retry-after': '5' });
    await new Promise<void>((r) => waiting.push(r));
  }
  running = true;
  try {
    return await fn();
  } finally {
    const next = waiting.shift();
    if (next) next();
    else running = false;
  }
}

function scryptAsync(password: string, salt: Buffer, n: number, r: number, p: number): Promise<Buffer> {
  const opts: ScryptOptions = { N: n, r, p, maxmem: 256 * n * r + 1024 * 1024 };
  return oneAtATime(() => new Promise((resolve, reject) => scrypt(password.normalize('NFKC'), salt, KEY_LEN, opts, (e, key) => (e ? reject(e) : resolve(key)))));
}

/** `scrypt$N$r$p$salt$hash`, salt and hash in base64. */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(SALT_LEN);
  const key = await scryptAsync(password, salt, N, R, P);
  return `scrypt$${N}$${R}$${P}$${salt.toString('base64')}$${key.toString('base64')}`;
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const [n, r, p] = parts.slice(1, 4).map(Number) as [number, number, number];
  // Refuse absurd parameters from a tampered row rather than allocate gigabytes.
  if (!(n >= 1024 && n <= 1 << 20 && r >= 1 && r <= 32 && p >= 1 && p <= 16)) return false;
  const want = Buffer.from(parts[5]!, 'base64');
  const got = await scryptAsync(password, Buffer.from(parts[4]!, 'base64'), n, r, p);
  return want.length === got.length && timingSafeEqual(want, got);
}

// Random salt and random "hash" with the parameters of a real one: checking a password against it costs
// exactly one scrypt like a real check, and never matches. (Hashing a random password instead cost
// the first unknown e-mail of each process a second scrypt: ~700 instead of ~350 ms, telling it apart.)
const dummy = `scrypt$${N}$${R}$${P}$${randomBytes(SALT_LEN).toString('base64')}$${randomBytes(KEY_LEN).toString('base64')}`;
/** A hash compared against when the e-mail is unknown, so that both answers take as long. */
export function dummyHash(): string {
  return dummy;
}
