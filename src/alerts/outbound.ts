import { lookup } from 'node:dns/promises';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { BlockList, isIP, type LookupFunction } from 'node:net';

// Every HTTP request crash-cache makes to an address a user typed (webhooks, Slack, Discord, Teams)
// goes through here. The URL is checked when it is saved (scheme, host) and again when it is sent:
// the host is resolved then, every address it resolves to must be public (not loopback, private,
// link-local — cloud metadata at 169.254.169.254 —, CGNAT, ULA, multicast, documentation or reserved,
// nor an IPv4-mapped / NAT64 / 6to4 / Teredo form of one), and the connection is made to the address
// that was checked (the socket's lookup is pinned), so a DNS answer that changes between the check
// and the connect (rebinding) cannot switch it. Numeric encodings (http://2130706433/, 0x7f.1) are
// normalized by the WHATWG URL parser to dotted quads before the check. Internal receivers are
// reached only when OUTBOUND_ALLOW_INTERNAL names them (an address, a CIDR range or a host name).
// Redirects are never followed. The receiver's body is read (bounded) and thrown away: only the
// status and its standard reason phrase are kept, never what the receiver wrote back.

const REFUSED_V4 = [
  ['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16], ['172.16.0.0', 12],
  ['192.0.0.0', 24], ['192.0.2.0', 24], ['192.88.99.0', 24], ['192.168.0.0', 16], ['198.18.0.0', 15], ['198.51.100.0', 24],
  ['203.0.113.0', 24], ['224.0.0.0', 4], ['240.0.0.0', 4],
] as const;
const REFUSED_V6 = [
  // ::ffff:0:0/96 (IPv4-mapped) is not listed: BlockList matches every IPv4 address against it; a
  // mapped address is checked as the IPv4 address it stands for (unmapped below)
  ['::', 128], ['::1', 128], ['64:ff9b::', 96], ['64:ff9b:1::', 48], ['100::', 64], ['2001::', 32],
  ['2001:db8::', 32], ['2002::', 16], ['fc00::', 7], ['fe80::', 10], ['fec0::', 10], ['ff00::', 8],
] as const;

const refused = new BlockList();
for (const [a, p] of REFUSED_V4) refused.addSubnet(a, p, 'ipv4');
for (const [a, p] of REFUSED_V6) refused.addSubnet(a, p, 'ipv6');

/** Most bytes of a receiver's answer read (and dropped) before the connection is closed. */
const MAX_ANSWER_BYTES = 64 * 1024;

export class OutboundRefused extends Error {}

/** The parsed OUTBOUND_ALLOW_INTERNAL: addresses and ranges in a BlockList, host names lower-cased. */
export interface InternalAllowance {
  ranges: BlockList;
  hosts: Set<string>;
}

/** Parses OUTBOUND_ALLOW_INTERNAL entries; throws on a malformed address or range. */
export function parseAllowance(entries: readonly string[]): InternalAllowance {
  const ranges = new BlockList();
  const hosts = new Set<string>();
  for (const raw of entries) {
    const e = raw.trim().replace(/^\[|\]$/g, '');
    const slash = e.indexOf('/');
    if (slash >= 0) {
      const addr = e.slice(0, slash);
      const bits = Number(e.slice(slash + 1));
      const fam = isIP(addr);
      if (!fam || !Number.isInteger(bits) || bits < 0 || bits > (fam === 4 ? 32 : 128)) throw new Error(`OUTBOUND_ALLOW_INTERNAL: not a CIDR range: ${JSON.stringify(raw)}`);
      ranges.addSubnet(addr, bits, fam === 4 ? 'ipv4' : 'ipv6');
    } else if (isIP(e)) ranges.addAddress(e, isIP(e) === 4 ? 'ipv4' : 'ipv6');
    else if (/^[a-z0-9.-]+$/i.test(e)) hosts.add(e.toLowerCase().replace(/\.$/, ''));
    else throw new Error(`OUTBOUND_ALLOW_INTERNAL: not an address, range or host name: ${JSON.stringify(raw)}`);
  }
  return { ranges, hosts };
}

const cache = new Map<string, InternalAllowance>();
function allowanceOf(entries: readonly string[]): InternalAllowance {
  const key = entries.join(',');
  let a = cache.get(key);
  if (!a) cache.set(key, (a = parseAllowance(entries)));
  return a;
}

/** The IPv4 address an IPv4-mapped IPv6 address (::ffff:a.b.c.d, in either notation) stands for. */
function unmapped(addr: string): string | null {
  const m = /^::ffff:(?:(\d+\.\d+\.\d+\.\d+)|([0-9a-f]{1,4}):([0-9a-f]{1,4}))$/i.exec(addr);
  if (!m) return null;
  if (m[1]) return m[1];
  const hi = parseInt(m[2]!, 16), lo = parseInt(m[3]!, 16);
  return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
}

/** Why `addr` may not be reached (null: it may): internal and not allowed by OUTBOUND_ALLOW_INTERNAL. */
export function refusalOf(addr: string, allow: InternalAllowance): string | null {
  const fam = isIP(addr);
  if (!fam) return `${JSON.stringify(addr)} is not an IP address`;
  const v4 = fam === 6 ? unmapped(addr) : null;
  const type = fam === 4 ? 'ipv4' : 'ipv6';
  if (allow.ranges.check(addr, type) || (v4 && allow.ranges.check(v4, 'ipv4'))) return null;
  if (refused.check(addr, type) || (v4 && refused.check(v4, 'ipv4'))) {
    return `${addr} is an internal address (loopback, private, link-local or reserved); allow it with OUTBOUND_ALLOW_INTERNAL`;
  }
  return null;
}

export interface PinnedTarget {
  url: URL;
  address: string;
  family: 4 | 6;
}

/**
 * Resolves the URL's host now and picks the address to connect to. Every address the name resolves
 * to must be allowed (one internal answer among public ones refuses the lot: an attacker's DNS may
 * answer both). Throws OutboundRefused naming the reason.
 */
export async function resolveTarget(rawUrl: string, allowEntries: readonly string[]): Promise<PinnedTarget> {
  let url: URL;
  try {
    url = new URL(rawUrl);
  } catch {
    throw new OutboundRefused('not a URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new OutboundRefused(`scheme ${url.protocol} is not http or https`);
  const allow = allowanceOf(allowEntries);
  const host = url.hostname.replace(/^\[|\]$/g, '').toLowerCase();
  const hostAllowed = allow.hosts.has(host.replace(/\.$/, ''));
  let addrs: { address: string; family: number }[];
  if (isIP(host)) addrs = [{ address: host, family: isIP(host) }];
  else {
    try {
      addrs = await lookup(host, { all: true, verbatim: true });
    } catch (e) {
      throw new OutboundRefused(`cannot resolve ${host} (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
    }
  }
  if (!addrs.length) throw new OutboundRefused(`${host} has no address`);
  if (!hostAllowed) {
    for (const a of addrs) {
      const why = refusalOf(a.address, allow);
      if (why) throw new OutboundRefused(host === a.address ? why : `${host} resolves to ${why}`);
    }
  }
  return { url, address: addrs[0]!.address, family: addrs[0]!.family === 6 ? 6 : 4 };
}

export interface OutboundAnswer {
  ok: boolean;
  /** HTTP status (null: no answer) */
  status: number | null;
  /** "HTTP 404 Not Found", "refused: …", "timed out after … ms", a network error code — never the body */
  reason: string | null;
}

/**
 * POSTs `body` (JSON) to `rawUrl` through the checks above, with a deadline over resolve, connect,
 * send and answer. 2xx is ok; a redirect is not followed (a POST must not turn into a GET, nor go
 * somewhere the check did not see).
 */
export async function postJson(rawUrl: string, body: unknown, opts: { timeoutMs: number; allowInternal: readonly string[]; headers?: Record<string, string> }): Promise<OutboundAnswer> {
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(), opts.timeoutMs);
  try {
    const target = await Promise.race([
      resolveTarget(rawUrl, opts.allowInternal),
      new Promise<never>((_, reject) => ac.signal.addEventListener('abort', () => reject(new Error('aborted')))),
    ]);
    const data = Buffer.from(JSON.stringify(body));
    // the socket connects to the checked address whatever the name resolves to by then; TLS still
    // verifies the certificate against the host name (servername defaults to it)
    const pinned: LookupFunction = (_h, o, cb) => {
      if ((o as { all?: boolean }).all) (cb as unknown as (e: null, a: { address: string; family: number }[]) => void)(null, [{ address: target.address, family: target.family }]);
      else cb(null, target.address, target.family);
    };
    const request = target.url.protocol === 'https:' ? httpsRequest : httpRequest;
    const res = await new Promise<IncomingMessage>((resolve, reject) => {
      const req = request(target.url, {
        method: 'POST',
        lookup: pinned,
        signal: ac.signal,
        headers: { 'Content-Type': 'application/json', 'Content-Length': String(data.length), 'User-Agent': 'crash-cache', ...opts.headers },
      }, resolve);
      req.on('error', reject);
      req.end(data);
    });
    const status = res.statusCode ?? 0;
    let read = 0;
    await new Promise<void>((resolve) => {
      res.on('data', (c: Buffer) => {
        read += c.length;
        if (read > MAX_ANSWER_BYTES) (res.destroy(), resolve());
      });
      res.on('end', resolve);
      res.on('error', () => resolve());
      res.on('close', resolve);
    });
    const phrase = res.statusMessage ? ` ${res.statusMessage.slice(0, 60)}` : '';
    if (status >= 200 && status < 300) return { ok: true, status, reason: null };
    const redirect = status >= 300 && status < 400 ? ' (redirect not followed)' : '';
    return { ok: false, status, reason: `HTTP ${status}${phrase}${redirect}` };
  } catch (e) {
    if (e instanceof OutboundRefused) return { ok: false, status: null, reason: `refused: ${e.message}` };
    if (ac.signal.aborted) return { ok: false, status: null, reason: `timed out after ${opts.timeoutMs} ms (ALERT_TIMEOUT_MS)` };
    const err = e as NodeJS.ErrnoException;
    return { ok: false, status: null, reason: err.code ? `${err.code}` : 'network error' };
  } finally {
    clearTimeout(timer);
  }
}

/**
 * A URL as it may be shown back: scheme, host, port and, when the path has more than one segment, the
 * first one; the rest of the path (where Slack, Discord and Teams put the secret), the query, the
 * fragment and any user:password are replaced by "…".
 */
export function redactUrl(raw: string): string {
  try {
    const u = new URL(raw);
    const segs = u.pathname.split('/').filter(Boolean);
    const auth = u.username || u.password ? '…@' : '';
    // a lone segment may be the secret itself: shown only as "…"
    const path = segs.length > 1 ? `/${segs[0]!.slice(0, 24)}/…` : segs.length || u.search || u.hash ? '/…' : '/';
    return `${u.protocol}//${auth}${u.host}${path}`;
  } catch {
    return '(invalid URL)';
  }
}
