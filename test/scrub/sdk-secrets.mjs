// Sends one error to crash-cache with the official @sentry/node SDK, carrying secrets everywhere an
// application leaks them: the exception message (a card number and a password), extra, contexts,
// tags, breadcrumb data, the request (Authorization and Cookie headers, a DSN key in the query
// string, cookies) and a frame's local variables (set in beforeSend, as integrations do). Every
// secret contains "Zq8" or is one of the card numbers, so a test can look for them anywhere.
// Usage: DSN=... node sdk-secrets.mjs  → prints {"eventId": …, "flushed": true}
import * as Sentry from '@sentry/node';

Sentry.init({
  dsn: process.env.DSN,
  release: 'shop@2.0.0',
  tracesSampleRate: 0,
  defaultIntegrations: false,
  integrations: [Sentry.linkedErrorsIntegration()],
  beforeSend(event) {
    event.request = {
      method: 'POST',
      url: 'https://shop.example/checkout',
      query_string: 'step=pay&sentry_key=dsnkeyZq8',
      headers: { Authorization: 'Bearer eyJhbGciOiJIUzI1NiJ9.Zq8', Cookie: 'sessionid=sessZq8; theme=dark', 'User-Agent': 'shop-client/2.0' },
      cookies: { sessionid: 'sessZq8', theme: 'dark' },
      data: { card_number: '4111 1111 1111 1111', comment: 'ring twice' },
    };
    const frames = event.exception.values[0].stacktrace.frames;
    frames[frames.length - 1].vars = { password: 'varZq8', card: '5555555555554444', amount: 42 };
    return event;
  },
});
Sentry.setUser({ id: 'customer-7' });
Sentry.setExtra('password', 'hunter2Zq8');
Sentry.setExtra('api_key', 'ak_liveZq8');
Sentry.setContext('database', { url: 'postgres://app:dbpwZq8@db:5432/shop', pool: 10 });
Sentry.setTag('auth_token', 'tokZq8');
Sentry.addBreadcrumb({ category: 'http', message: 'POST /pay', data: { Authorization: 'Bearer crumbZq8' } });

function chargeCustomerCard(card) {
  throw new Error(`payment failed for card ${card} (password=hunter2Zq8)`);
}
let eventId;
try {
  chargeCustomerCard('4111 1111 1111 1111');
} catch (e) {
  eventId = Sentry.captureException(e);
}
const flushed = await Sentry.close(10_000);
console.log(JSON.stringify({ eventId, flushed }));
