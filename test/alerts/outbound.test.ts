import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, expect, test } from 'vitest';
import { OutboundRefused, parseAllowance, postJson, redactUrl, refusalOf, resolveTarget } from '../../src/alerts/outbound.js';
import { startReceiver, type Receiver } from './receiver.js';

// Outbound requests (docs/SECURITY.md, "Outbound requests"): a webhook URL a UI user or token holder
// saved must not reach the host's loopback, the cloud metadata address or the private network unless
// OUTBOUND_ALLOW_INTERNAL says so; the receiver's body is never kept. Real HTTP on 127.0.0.1.

let receiver: Receiver;
beforeAll(async () => {
  receiver = await startReceiver();
});
beforeEach(() => {
  receiver.received.length = 0;
  receiver.respond = () => 200;
});
afterAll(async () => {
  await receiver?.close();
});

const none = parseAllowance([]);

test('internal addresses are refused, public ones are not', () => {
  for (const a of ['127.0.0.1', '127.8.9.10', '10.1.2.3', '172.16.0.1', '172.31.255.255', '192.168.1.1', '169.254.169.254', '100.64.0.1',
    '0.0.0.0', '224.0.0.1', '255.255.255.255', '198.18.0.1', '::', '::1', 'fe80::1', 'fc00::1', 'fd12:3456::1', '::ffff:127.0.0.1',
    '::ffff:7f00:1', '::ffff:a9fe:a9fe', '::ffff:10.0.0.1', '64:ff9b::7f00:1', '2002:7f00:1::', 'ff02::1']) {
    expect(refusalOf(a, none), a).toMatch(/internal address/);
  }
  for (const a of ['93.184.216.34', '8.8.8.8', '172.32.0.1', '100.128.0.1', '2606:4700::1111', '::ffff:8.8.8.8']) expect(refusalOf(a, none), a).toBeNull();
});

test('numeric encodings, IPv4-mapped and bracketed forms of loopback are refused when sent', async () => {
  for (const url of ['http://2130706433/', 'http://0x7f000001/', 'http://0177.0.0.1/', 'http://127.1/', 'http://0x7f.1/', 'http://[::ffff:127.0.0.1]/',
    'http://[::ffff:7f00:1]/', 'http://[::1]:8080/', 'http://[0:0:0:0:0:0:0:1]/', 'http://localhost/', 'http://169.254.169.254/latest/meta-data/']) {
    await expect(resolveTarget(url, []), url).rejects.toThrow(OutboundRefused);
  }
  await expect(resolveTarget('file:///etc/passwd', [])).rejects.toThrow(/not http or https/);
});

test('OUTBOUND_ALLOW_INTERNAL: an address, a CIDR range or a host name, nothing more', async () => {
  const one = parseAllowance(['127.0.0.1']);
  expect(refusalOf('127.0.0.1', one)).toBeNull();
  expect(refusalOf('::ffff:127.0.0.1', one)).toBeNull();
  expect(refusalOf('127.0.0.2', one)).toMatch(/internal/);
  expect(refusalOf('10.0.0.1', one)).toMatch(/internal/);
  const range = parseAllowance(['10.0.0.0/8', 'fd00::/8']);
  expect(refusalOf('10.200.1.1', range)).toBeNull();
  expect(refusalOf('fd12::1', range)).toBeNull();
  expect(refusalOf('192.168.0.1', range)).toMatch(/internal/);
  expect((await resolveTarget('http://localhost:9/x', ['localhost'])).address).toMatch(/^(127\.0\.0\.1|::1)$/);
  expect(() => parseAllowance(['10.0.0.0/33'])).toThrow(/not a CIDR range/);
  expect(() => parseAllowance(['a b'])).toThrow(/not an address, range or host name/);
});

test('by default nothing is POSTed to a loopback receiver; allowed explicitly, it is', async () => {
  const refused = await postJson(receiver.url, { hello: 1 }, { timeoutMs: 2000, allowInternal: [] });
  expect(refused).toEqual({ ok: false, status: null, reason: expect.stringMatching(/^refused: 127\.0\.0\.1 is an internal address/) });
  expect(receiver.received).toHaveLength(0);
  const sent = await postJson(receiver.url, { hello: 1 }, { timeoutMs: 2000, allowInternal: ['127.0.0.1'] });
  expect(sent).toEqual({ ok: true, status: 200, reason: null });
  expect(receiver.received.map((r) => r.body)).toEqual([{ hello: 1 }]);
});

test("the receiver's body is never part of the result; redirects are not followed", async () => {
  receiver.respond = () => 500;
  const r = await postJson(receiver.url, {}, { timeoutMs: 2000, allowInternal: ['127.0.0.1'] });
  expect(r).toEqual({ ok: false, status: 500, reason: 'HTTP 500 Internal Server Error' });
  expect(JSON.stringify(r)).not.toContain('receiver says no');

  // a public-looking redirect to the metadata address: not followed
  let hits = 0;
  const redirector = createServer((_req, res) => (hits++, res.writeHead(302, { location: 'http://169.254.169.254/latest/meta-data/' }).end('moved')));
  await new Promise<void>((ok) => redirector.listen(0, '127.0.0.1', ok));
  try {
    const url = `http://127.0.0.1:${(redirector.address() as AddressInfo).port}/hook`;
    expect(await postJson(url, {}, { timeoutMs: 2000, allowInternal: ['127.0.0.1'] })).toEqual({ ok: false, status: 302, reason: 'HTTP 302 Found (redirect not followed)' });
    expect(hits).toBe(1);
  } finally {
    redirector.closeAllConnections();
    await new Promise((ok) => redirector.close(ok));
  }
});

test('URLs are shown back without their secret part', () => {
  expect(redactUrl('https://hooks.slack.com/services/T000/B000/XXXXsecret')).toBe('https://hooks.slack.com/services/…');
  expect(redactUrl('https://discord.com/api/webhooks/123/tok-en')).toBe('https://discord.com/api/…');
  expect(redactUrl('https://prod-1.westus.logic.azure.com:443/workflows/abc/triggers/manual/paths/invoke?api-version=1&sig=SECRET'))
    .toBe('https://prod-1.westus.logic.azure.com/workflows/…');
  expect(redactUrl('https://user:pass@example.com/s3cr3t-token')).toBe('https://…@example.com/…');
  expect(redactUrl('https://example.com/')).toBe('https://example.com/');
  expect(redactUrl('https://example.com/?token=x')).toBe('https://example.com/…');
});
