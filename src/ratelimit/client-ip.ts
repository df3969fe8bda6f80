import { BlockList, isIP } from 'node:net';
import type { IncomingMessage } from 'node:http';
import type { Config } from '../config/index.js';

// The client's address. The socket's peer, unless the peer is one of TRUSTED_PROXIES: then the
// forwarding headers are walked from the right (the hop nearest to us), skipping trusted proxies,
// and the first untrusted address is the client. Anyone can write X-Forwarded-For; only the part a
// trusted proxy appended can be believed, which is why the walk starts at the right and stops at
// the first address we do not trust. `Forwarded` (RFC 7239) wins over X-Forwarded-For when both
// are present, as it is the standard one.

/** Strips the IPv4-mapped prefix (::ffff:1.2.3.4 → 1.2.3.4) so one client has one spelling. */
export function normalizeIp(ip: string): string {
  const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  return m ? m[1]! : ip.toLowerCase();
}

/** Parses TRUSTED_PROXIES entries: addresses or CIDR ranges, IPv4 or IPv6. Throws naming a bad entry. */
export function parseTrustedProxies(entries: readonly string[]): BlockList {
  const list = new BlockList();
  for (const raw of entries) {
    const [addr0, bits, extra] = raw.trim().split('/');
    const addr = normalizeIp(addr0 ?? '');
    const family = isIP(addr);
    const max = family === 4 ? 32 : 128;
    const prefix = bits === undefined ? max : Number(bits);
    if (!family || extra !== undefined || !Number.isInteger(prefix) || prefix < 0 || prefix > max || (bits !== undefined && !/^\d+$/.test(bits))) {
      throw new Error(`TRUSTED_PROXIES: ${JSON.stringify(raw)} is not an address or CIDR range`);
    }
    const type = family === 4 ? 'ipv4' : 'ipv6';
    if (prefix === max) list.addAddress(addr, type);
    else list.addSubnet(addr, prefix, type);
  }
  return list;
}

function isTrusted(list: BlockList, ip: string): boolean {
  const family = isIP(ip);
  return family !== 0 && list.check(ip, family === 4 ? 'ipv4' : 'ipv6');
}

/**
 * One hop as written in a header, without port, brackets or quotes; '' when it is not an address
 * (RFC 7239 allows "unknown" and obfuscated "_names").
 */
export function hopAddress(raw: string): string {
  let s = raw.trim().replace(/^"|"$/g, '');
  const bracket = /^\[([^\]]+)\](?::\d+)?$/.exec(s);
  if (bracket) s = bracket[1]!;
  else if (/^\d+\.\d+\.\d+\.\d+:\d+$/.test(s)) s = s.slice(0, s.lastIndexOf(':'));
  s = normalizeIp(s);
  return isIP(s) ? s : '';
}

function headerList(v: string | string[] | undefined): string {
  return Array.isArray(v) ? v.join(',') : (v ?? '');
}

/** The `for=` hops of a Forwarded header, leftmost first. Elements without `for` count as unknown hops. */
export function forwardedHops(header: string): string[] {
  const hops: string[] = [];
  for (const element of header.split(',')) {
    if (!element.trim()) continue;
    let hop = '';
    for (const pair of element.split(';')) {
      const eq = pair.indexOf('=');
      if (eq > 0 && pair.slice(0, eq).trim().toLowerCase() === 'for') hop = pair.slice(eq + 1);
    }
    hops.push(hop);
  }
  return hops;
}

/**
 * The client among `hops` (leftmost = farthest) as seen through the trusted `peer`: walks from the
 * right, skipping trusted addresses. An entry that is not an address stops the walk: the last
 * trusted hop that handed it to us is the best we know.
 */
export function pickClient(hops: string[], peer: string, trusted: BlockList): string {
  let client = peer;
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = hopAddress(hops[i]!);
    if (!hop) break;
    client = hop;
    if (!isTrusted(trusted, hop)) break;
  }
  return client;
}

const parsed = new WeakMap<readonly string[], BlockList>();

/** The client's address: the socket's, or a trusted proxy's X-Forwarded-For / Forwarded hop. */
export function clientIp(req: IncomingMessage, config: Readonly<Config>): string {
  const peer = normalizeIp(req.socket.remoteAddress ?? '');
  const entries = config.trustedProxies;
  if (!entries.length) return peer;
  let trusted = parsed.get(entries);
  if (!trusted) parsed.set(entries, (trusted = parseTrustedProxies(entries)));
  if (!isTrusted(trusted, peer)) return peer;
  const forwarded = headerList(req.headers.forwarded);
  if (forwarded.trim()) return pickClient(forwardedHops(forwarded), peer, trusted);
  const xff = headerList(req.headers['x-forwarded-for']);
  if (xff.trim()) return pickClient(xff.split(','), peer, trusted);
  return peer;
}

/**
 * Whether the request reached us over https: on a TLS socket, or from a trusted proxy (TRUSTED_PROXIES)
 * that says so in `Forwarded: proto=https` or `X-Forwarded-Proto: https` (the hop nearest to us, its
 * rightmost value). A header from any other peer is ignored: anyone can write it.
 */
export function requestIsHttps(req: IncomingMessage, config: Readonly<Config>): boolean {
  if ((req.socket as { encrypted?: boolean }).encrypted) return true;
  const entries = config.trustedProxies;
  if (!entries.length) return false;
  let trusted = parsed.get(entries);
  if (!trusted) parsed.set(entries, (trusted = parseTrustedProxies(entries)));
  if (!isTrusted(trusted, normalizeIp(req.socket.remoteAddress ?? ''))) return false;
  const forwarded = headerList(req.headers.forwarded);
  if (forwarded.trim()) {
    const last = forwarded.split(',').filter((e) => e.trim()).at(-1) ?? '';
    for (const pair of last.split(';')) {
      const eq = pair.indexOf('=');
      if (eq > 0 && pair.slice(0, eq).trim().toLowerCase() === 'proto') return pair.slice(eq + 1).trim().replace(/^"|"$/g, '').toLowerCase() === 'https';
    }
  }
  const proto = headerList(req.headers['x-forwarded-proto']).split(',').at(-1)?.trim().toLowerCase();
  return proto === 'https';
}

/**
 * The key of a client's bucket: the address itself for IPv4, its /64 network for IPv6 (one
 * subscriber usually holds a whole /64, so per-address buckets would be free to multiply).
 */
export function ipBucketKey(ip: string): string {
  if (isIP(ip) !== 6) return ip;
  const [head, tail] = ip.split('::') as [string, string | undefined];
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  // An embedded IPv4 tail (::ffff:… handled earlier; others like 64:ff9b::1.2.3.4) counts as two groups.
  const groups = [...left, ...(tail === undefined ? [] : Array(Math.max(0, 8 - left.length - right.length - (right.at(-1)?.includes('.') ? 1 : 0))).fill('0')), ...right];
  return `${groups.slice(0, 4).map((g) => (parseInt(g, 16) || 0).toString(16)).join(':')}::/64`;
}
