// Data scrubbing of whole events (src/scrub/event.ts): Relay's default rules over the fields that
// hold personal data, the project settings, Sentry's `_meta` remarks, and the property that a
// secret placed anywhere a default rule covers is gone from the event afterwards.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { scrubEvent } from '../../src/scrub/event.js';
import { applyRanges, findCards, findIbans, findSsns, type Range } from '../../src/scrub/text.js';
import { compileScrub, DEFAULT_SCRUB, type ScrubSettings } from '../../src/scrub/settings.js';

type Json = Record<string, any>;
const scrub = (ev: Json, s: Partial<ScrubSettings> = {}, maxDepth = 100) => {
  const changed = scrubEvent(ev, compileScrub({ ...DEFAULT_SCRUB, ...s }, maxDepth));
  return { ev, changed };
};

describe('default rules', () => {
  it("filters Relay's sensitive keys in extra, with Sentry's _meta remarks", () => {
    const { ev } = scrub({ extra: { foo: 'bar', password: 'hello', the_secret: 'hello', a_password_here: 'hello', api_key: 'secret_key', apiKey: 'secret_key', a_password_number: 42, a_password_array: [42, 43] } });
    expect(ev.extra).toEqual({ foo: 'bar', password: '[Filtered]', the_secret: '[Filtered]', a_password_here: '[Filtered]', api_key: '[Filtered]', apiKey: '[Filtered]', a_password_number: null, a_password_array: null });
    expect(ev._meta.extra.password).toEqual({ '': { rem: [['@password:filter', 's', 0, 10]], len: 5 } });
    expect(ev._meta.extra.a_password_array).toEqual({ '': { rem: [['@password:filter', 'x']] } });
    expect(ev._meta.extra.foo).toBeUndefined();
  });

  it('request: Authorization and Cookie headers, sensitive cookies, query strings (string and pairs), body, env; User-Agent kept', () => {
    const { ev } = scrub({ request: {
      method: 'POST', url: 'https://shop.example/checkout',
      headers: [['Authorization', 'Basic dXNlcjpwYXNz'], ['Cookie', 'theme=dark; sessionid=abc'], ['User-Agent', 'curl auth/1.0'], ['Accept', 'text/html']],
      cookies: { sessionid: 'abc', csrftoken: 'def', theme: 'dark' },
      query_string: 'q=shoes&sentry_key=0123abcd&api_key=k1',
      data: { card: '4111 1111 1111 1111', note: 'leave at door', nested: { credentials: { user: 'a' } } },
      env: { SERVER_NAME: 'web1', DB_PASSWORD: 'pw' },
    } });
    const r = ev.request;
    expect(r.headers).toEqual([['Authorization', '[Filtered]'], ['Cookie', '[Filtered]'], ['User-Agent', 'curl auth/1.0'], ['Accept', 'text/html']]);
    expect(r.cookies).toEqual({ sessionid: '[Filtered]', csrftoken: '[Filtered]', theme: 'dark' });
    expect(r.query_string).toBe('q=shoes&sentry_key=[Filtered]&api_key=[Filtered]');
    expect(r.data).toEqual({ card: '[Filtered]', note: 'leave at door', nested: { credentials: null } });
    expect(r.env).toEqual({ SERVER_NAME: 'web1', DB_PASSWORD: '[Filtered]' });
    expect(r.url).toBe('https://shop.example/checkout');
    expect(ev._meta.request.headers['0']['1']['']).toEqual({ rem: [['@password:filter', 's', 0, 10]], len: 18 });
    expect(ev._meta.request.headers['1']['1']['']).toEqual({ rem: [['@anything:filter', 's', 0, 10]], len: 25 });
    expect(ev._meta.request.query_string['']).toEqual({ rem: [['@password:filter', 's', 19, 29], ['@password:filter', 's', 38, 48]], len: 38 });
  });

  it('frame variables, breadcrumbs, contexts, tags, user, span data; a string naming a secret is filtered whole', () => {
    const { ev } = scrub({
      exception: { values: [{ type: 'ValueError', value: 'bad', stacktrace: { frames: [{ function: 'login', vars: { user: 'bob', passwd: 'x', self: { token: 'abc' }, msg: 'the password is swordfish' } }] } }] },
      breadcrumbs: { values: [{ category: 'http', message: 'GET /x?access_token=abc', data: { url: '/x', Authorization: 'Bearer abc' } }] },
      contexts: { app: { app_name: 'shop' }, secrets: { a: 1 } },
      tags: { api_key: 'k', region: 'eu' },
      user: { id: '42', email: 'bob@example.com', data: { password: 'p' } },
      spans: [{ op: 'db', data: { 'db.password': 'p', 'db.system': 'postgresql' } }],
    });
    expect(ev.exception.values[0].stacktrace.frames[0].vars).toEqual({ user: 'bob', passwd: '[Filtered]', self: { token: '[Filtered]' }, msg: '[Filtered]' });
    expect(ev.breadcrumbs.values[0]).toEqual({ category: 'http', message: '[Filtered]', data: { url: '/x', Authorization: '[Filtered]' } });
    expect(ev.contexts).toEqual({ app: { app_name: 'shop' }, secrets: null });
    expect(ev.tags).toEqual({ api_key: '[Filtered]', region: 'eu' });
    expect(ev.user).toEqual({ id: '42', email: 'bob@example.com', data: { password: '[Filtered]' } });
    expect(ev.spans[0].data).toEqual({ 'db.password': '[Filtered]', 'db.system': 'postgresql' });
  });

  it('messages and exception values keep their words and lose only the secret (titles, webhooks)', () => {
    const { ev } = scrub({
      logentry: { message: 'charge failed for %s', params: ['4111111111111111'], formatted: 'charge failed for 4111111111111111 (password=hunter2)' },
      exception: { values: [{ type: 'AuthError', value: 'auth failed: token=eyJhbGciOi; Authorization: Bearer eyJ0eXAi' }] },
    });
    expect(ev.logentry).toEqual({ message: 'charge failed for %s', params: ['[Filtered]'], formatted: 'charge failed for [Filtered] (password=[Filtered])' });
    expect(ev.exception.values[0].value).toBe('auth failed: token=[Filtered]; Authorization: [Filtered]');
    expect(ev._meta.logentry.formatted[''].rem).toEqual([['@creditcard:filter', 's', 18, 28], ['@password:filter', 's', 39, 49]]);
  });

  it('keeps what is not personal data, and does nothing twice', () => {
    const ev = { event_id: 'a'.repeat(32), release: 'auth-service@1.0', transaction: '/api/auth/login', fingerprint: ['token'], extra: { password: 'x' } };
    const first = scrub(ev);
    expect(first.changed).toBe(true);
    expect(ev.release).toBe('auth-service@1.0');
    expect(ev.transaction).toBe('/api/auth/login');
    const again = JSON.parse(JSON.stringify(ev));
    expect(scrub(again).changed).toBe(false);
    expect(again).toEqual(ev);
    expect(scrub({ message: 'hello', extra: { a: 1 } }).changed).toBe(false);
  });
});

describe('project settings', () => {
  const ev = () => ({ extra: { password: 'p', order_ref: 'R-1', contract: 'ORD-77', card: '4111111111111111' }, user: { ip_address: '203.0.113.9' }, request: { env: { REMOTE_ADDR: '203.0.113.9' } }, sdk: { client_ip: '203.0.113.9' }, tags: { via: 'proxy 10.0.0.1' } });
  it('dataScrubber off: nothing but IPs (when asked)', () => {
    expect(scrub(ev(), { dataScrubber: false }).changed).toBe(false);
    const { ev: e } = scrub(ev(), { dataScrubber: false, scrubIPAddresses: true });
    expect(e.extra.password).toBe('p');
    expect([e.user.ip_address, e.request.env.REMOTE_ADDR, e.sdk.client_ip, e.tags.via]).toEqual([null, null, null, 'proxy [ip]']);
  });
  it('dataScrubberDefaults off: only the sensitive fields', () => {
    const { ev: e } = scrub(ev(), { dataScrubberDefaults: false, sensitiveFields: ['order_ref', ' '] });
    expect(e.extra).toEqual({ password: 'p', order_ref: '[Filtered]', contract: 'ORD-77', card: '4111111111111111' });
    expect(e._meta.extra.order_ref[''].rem).toEqual([['strip-fields', 's', 0, 10]]);
  });
  it('sensitive fields match keys and values, case-insensitively; safe fields are left alone', () => {
    const { ev: e } = scrub(ev(), { sensitiveFields: ['ORD-'], safeFields: ['Password'] });
    expect(e.extra).toEqual({ password: 'p', order_ref: 'R-1', contract: '[Filtered]', card: '[Filtered]' });
  });
  it('IP addresses are kept by default', () => {
    const { ev: e } = scrub(ev());
    expect(e.user.ip_address).toBe('203.0.113.9');
    expect(e.tags.via).toBe('proxy 10.0.0.1');
  });
  it('values nested deeper than SCRUB_MAX_DEPTH inside a scrubbed field are removed', () => {
    let deep: Json = { password: 'x' };
    for (let i = 0; i < 20; i++) deep = { d: deep };
    const { ev: e } = scrub({ extra: { deep } }, {}, 10);
    expect(JSON.stringify(e.extra)).not.toContain('password');
    expect(JSON.stringify(e._meta)).toContain('!limit');
  });
});

describe('property: a secret anywhere a default rule covers does not survive', () => {
  const SECRET = 'Zq8secretvalue';
  const keyName = fc.constantFrom('password', 'db_password', 'Authorization', 'api_key', 'x-api-key', 'accessToken', 'client_secret', 'sentry_key', 'credentials', 'private_key');
  const plainKey = fc.constantFrom('a', 'b', 'data', 'items', 'value', 'user_name');
  // A JSON tree with the secret somewhere under a key that names one, or as a card number.
  const tree: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
    node: fc.oneof({ depthSize: 'small' },
      fc.constant('plain text'), fc.integer(),
      fc.tuple(plainKey, tie('node')).map(([k, v]) => ({ [k]: v })),
      fc.tuple(keyName, fc.constantFrom(SECRET, { v: SECRET }, [SECRET], `Bearer ${SECRET}`)).map(([k, v]) => ({ [k]: v })),
      fc.array(tie('node'), { maxLength: 3 }),
      fc.tuple(keyName, fc.constantFrom(SECRET)).map(([k, v]) => [[k, v]])),
  })).node;
  const where = fc.constantFrom(
    (t: unknown) => ({ extra: { x: t } }),
    (t: unknown) => ({ contexts: { c: { x: t } } }),
    (t: unknown) => ({ request: { data: t, headers: { 'X-Thing': t } } }),
    (t: unknown) => ({ exception: { values: [{ type: 'E', stacktrace: { frames: [{ vars: { x: t } }] } }] } }),
    (t: unknown) => ({ breadcrumbs: [{ message: 'm', data: { x: t } }] }),
    (t: unknown) => ({ user: { data: { x: t } } }),
    (t: unknown) => ({ threads: { values: [{ stacktrace: { frames: [{ vars: { x: t } }] } }] } }),
  );
  it('holds for random events', () => {
    fc.assert(fc.property(tree, where, (t, place) => {
      const ev = place(t) as Json;
      const planted = JSON.stringify(ev).includes(SECRET);
      scrub(ev);
      expect(JSON.stringify({ ...ev, _meta: undefined }).includes(SECRET)).toBe(false);
      if (planted) expect(ev._meta).toBeDefined();
      expect(scrub(JSON.parse(JSON.stringify(ev))).changed).toBe(false);
    }), { numRuns: 3000 });
  });
  it('holds for card numbers and secret pairs in messages', () => {
    const card = fc.constantFrom('4111111111111111', '4111-1111-1111-1111', '5555 5555 5555 4444', '378282246310005');
    fc.assert(fc.property(fc.string({ maxLength: 20 }), card, fc.constantFrom('password=', 'token: ', 'api_key="', 'Bearer '), fc.string({ maxLength: 20 }), (pre, c, pair, post) => {
      const text = `${pre} ${c} ${pair}${SECRET} ${post}`;
      const ev: Json = { message: text, exception: { values: [{ type: 'E', value: text }] }, extra: { note: `ref ${c}.` } };
      scrub(ev);
      const out = JSON.stringify({ ...ev, _meta: undefined });
      expect(out.includes(SECRET)).toBe(false);
      expect(out.includes(c)).toBe(false);
      // A scrubbed payload digested again (ruminate) is left as it is.
      const again = JSON.parse(JSON.stringify(ev));
      expect(scrub(again).changed).toBe(false);
    }), { numRuns: 2000 });
  });

  // The scrubber tests a string natively for what each digit scan needs (a card's first three
  // digits, an SSN's shape, an IBAN's first 15 characters) before running the scan: a string in
  // which a scan finds something must never be skipped. Strings without the password words, so that
  // the scans alone decide; valid numbers at their shortest, with separators, among random noise.
  it('skips no string in which the card, IBAN or SSN scans find something', () => {
    const found = fc.constantFrom('4111111111111111', '4111 1111 1111 1111', '4111-1111-1111-1111', '378282246310005', '6011111111111117',
      '5105105105105100', '370000000000002', 'NO9386011117947', 'GB82WEST12345698765432', 'DE89370400440532013000', '078-05-1120', '123-45-6789');
    const noise = fc.string({ unit: fc.constantFrom(...'0123456789- .,:/GBNDRTZX'), maxLength: 24 });
    fc.assert(fc.property(noise, found, noise, (pre, value, post) => {
      const text = `${pre}${value}${post}`;
      fc.pre(!/pass|secret|auth|api|private|credentials|mysql_pwd|sentry_key|token|otp|two|bearer|-----|\/\//i.test(text));
      const ranges: Range[] = [];
      findCards(text, ranges, '@creditcard:filter');
      findIbans(text, ranges, '@iban:filter');
      findSsns(text, ranges, '@usssn:filter');
      const { ev } = scrub({ extra: { v: text } });
      expect(ev.extra.v).toBe(ranges.length ? applyRanges(text, ranges).value : text);
    }), { numRuns: 3000 });
  });
});
