import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.js';
import { clientIp, ipBucketKey, parseTrustedProxies, pickClient, forwardedHops, hopAddress } from '../../src/ratelimit/client-ip.js';
import { createRateLimiter } from '../../src/ratelimit/index.js';

// The client address as a real HTTP server sees it (requests come from 127.0.0.1), with and
// without trusted proxies.

let server: Server;
let port = 0;
let trusted: string[] = [];
beforeAll(async () => {
  server = createServer((req, res) => {
    const config = loadConfig({ TRUSTED_PROXIES: trusted.join(',') }, '/nonexistent');
    res.end(clientIp(req, config));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  port = (server.address() as AddressInfo).port;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

function ipSeen(headers: Record<string, string | string[]>, proxies: string[]): Promise<string> {
  trusted = proxies;
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/', headers, agent: false }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve(body));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('client address', () => {
  it('is the socket peer when no proxy is trusted, whatever the headers say', async () => {
    expect(await ipSeen({}, [])).toBe('127.0.0.1');
    expect(await ipSeen({ 'x-forwarded-for': '203.0.113.9' }, [])).toBe('127.0.0.1');
    expect(await ipSeen({ forwarded: 'for=203.0.113.9' }, [])).toBe('127.0.0.1');
  });

  it('is the socket peer when the peer is not a trusted proxy', async () => {
    expect(await ipSeen({ 'x-forwarded-for': '203.0.113.9' }, ['10.0.0.0/8', '::1'])).toBe('127.0.0.1');
  });

  it('comes from X-Forwarded-For of a trusted peer, walking from the right past trusted hops', async () => {
    expect(await ipSeen({ 'x-forwarded-for': '203.0.113.9' }, ['127.0.0.1'])).toBe('203.0.113.9');
    // A client-forged left part is ignored: the first untrusted hop from the right is the client.
    expect(await ipSeen({ 'x-forwarded-for': '1.2.3.4, 203.0.113.9, 10.0.0.7' }, ['127.0.0.0/8', '10.0.0.0/8'])).toBe('203.0.113.9');
    // Several header lines count as one list.
    expect(await ipSeen({ 'x-forwarded-for': ['1.2.3.4', '198.51.100.1'] }, ['127.0.0.1'])).toBe('198.51.100.1');
    // Every hop trusted: the leftmost is the client.
    expect(await ipSeen({ 'x-forwarded-for': '10.0.0.5, 10.0.0.7' }, ['127.0.0.1', '10.0.0.0/8'])).toBe('10.0.0.5');
    // Garbage stops the walk at the trusted hop that handed it over.
    expect(await ipSeen({ 'x-forwarded-for': 'evil, 10.0.0.7' }, ['127.0.0.1', '10.0.0.0/8'])).toBe('10.0.0.7');
    expect(await ipSeen({ 'x-forwarded-for': 'evil' }, ['127.0.0.1'])).toBe('127.0.0.1');
  });

  it('prefers Forwarded (RFC 7239), with quotes, ports and IPv6 brackets', async () => {
    expect(await ipSeen({ forwarded: 'for=192.0.2.60;proto=http;by=203.0.113.43', 'x-forwarded-for': '1.1.1.1' }, ['127.0.0.1'])).toBe('192.0.2.60');
    expect(await ipSeen({ forwarded: 'for="[2001:db8:cafe::17]:4711"' }, ['127.0.0.1'])).toBe('2001:db8:cafe::17');
    expect(await ipSeen({ forwarded: 'for=198.51.100.2, for="10.1.2.3:80"' }, ['127.0.0.1', '10.0.0.0/8'])).toBe('198.51.100.2');
    expect(await ipSeen({ forwarded: 'for=unknown, for=10.1.2.3' }, ['127.0.0.1', '10.0.0.0/8'])).toBe('10.1.2.3');
  });

  it('parses hops and proxy lists', () => {
    expect(hopAddress(' 1.2.3.4:5678 ')).toBe('1.2.3.4');
    expect(hopAddress('::FFFF:1.2.3.4')).toBe('1.2.3.4');
    expect(hopAddress('_hidden')).toBe('');
    expect(forwardedHops('for=1.2.3.4;proto=https, by=5.6.7.8, FOR="[::1]"')).toEqual(['1.2.3.4', '', '"[::1]"']);
    const list = parseTrustedProxies(['fd00::/8', '192.168.0.0/16', '::ffff:10.9.9.9']);
    expect(pickClient(['2001:db8::1', 'fd12::1'], 'fd00::2', list)).toBe('2001:db8::1');
    expect(pickClient(['8.8.8.8', '10.9.9.9'], '192.168.1.1', list)).toBe('8.8.8.8');
    expect(() => parseTrustedProxies(['10.0.0.0/33'])).toThrow(/TRUSTED_PROXIES/);
    expect(() => parseTrustedProxies(['proxy.local'])).toThrow(/"proxy.local"/);
    // The limiter refuses to start with a bad list, naming the setting.
    expect(() => createRateLimiter(loadConfig({ TRUSTED_PROXIES: '10.0.0.1,nope' }, '/nonexistent'), null)).toThrow(/TRUSTED_PROXIES/);
  });

  it('keys IPv6 clients by their /64 and IPv4 by address', () => {
    expect(ipBucketKey('203.0.113.9')).toBe('203.0.113.9');
    expect(ipBucketKey('2001:db8:1:2:aaaa::1')).toBe('2001:db8:1:2::/64');
    expect(ipBucketKey('2001:db8:1:2:bbbb:cccc:dddd:eeee')).toBe('2001:db8:1:2::/64');
    expect(ipBucketKey('2001:db8::1')).toBe('2001:db8:0:0::/64');
    expect(ipBucketKey('::1')).toBe('0:0:0:0::/64');
  });
});
