import { describe, expect, it } from 'vitest';
import { normalizeMessage, parameterize } from '../../src/grouping/parameterize.js';

describe('parameterize', () => {
  it.each([
    ['contact foo.bar@example.com now', 'contact <email> now'],
    ['GET https://example.com/a?b=1 failed', 'GET <url> failed'],
    ['cannot reach db.example.com', 'cannot reach <hostname>'],
    ['from 192.168.0.1 and ::1', 'from <ip> and <ip>'],
    ['peer 2001:0db8:85a3:0000:0000:8a2e:0370:7334', 'peer <ip>'],
    ['trace 00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01', 'trace <traceparent>'],
    ['id 88ee7c66-29a9-4a4a-bc26-c72d76c5de14', 'id <uuid>'],
    ['sha da39a3ee5e6b4b0d3255bfef95601890afd80709', 'sha <sha1>'],
    ['md5 d41d8cd98f00b204e9800998ecf8427e', 'md5 <md5>'],
    ['at 2019-04-17T20:29:05Z', 'at <date>'],
    ['on Wed Apr 17 22:31:45 2019', 'on <date>'],
    ['Tue, 3 Jun 2008 11:05:30 GMT', '<date>'],
    ['took 250ms', 'took <duration>'],
    ['took 1.5s', 'took <duration>'],
    ['addr 0xfeedbeef', 'addr <hex>'],
    ['token deadbeef12', 'token <hex>'],
    ['commit a1b2c3d', 'commit <git_sha>'],
    ['ratio 3.14', 'ratio <float>'],
    ['Test 1', 'Test <int>'],
    ['testing testing 1, 2, 3', 'testing testing <int>, <int>, <int>'],
    ['HTTP/1.1-8080', 'HTTP/<float><int>'],
    ["name='bob' other 'bob'", "name=<quoted_str> other 'bob'"],
    ['enabled=true true', 'enabled=<bool> true'],
    ['nothing to see here', 'nothing to see here'],
  ])('%s', (input, expected) => {
    expect(parameterize(input)).toBe(expected);
  });

  it('keeps at most two non-empty lines and marks the cut', () => {
    expect(normalizeMessage('a\n\nb\nc')).toBe('a\nb...');
    expect(normalizeMessage('a\nb')).toBe('a\nb');
    expect(normalizeMessage('Loading chunk 158 failed.\n(timeout: https://x.example.com/a.js)')).toBe(
      'Loading chunk <int> failed.\n(timeout: <url>',
    );
  });

  it('is fast on long adversarial input', () => {
    const inputs = ['a.'.repeat(20_000), '1'.repeat(50_000), 'x@'.repeat(20_000), ':'.repeat(50_000), '-1'.repeat(20_000)];
    const t0 = Date.now();
    for (const s of inputs) parameterize(s);
    expect(Date.now() - t0).toBeLessThan(5000);
  });
});
