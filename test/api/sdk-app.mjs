// Sends events to crash-cache with the official @sentry/node SDK, then exits; prints their ids.
// Usage: DSN=... node sdk-app.mjs   (RELEASE, ENVIRONMENT optional)
import * as Sentry from '@sentry/node';

Sentry.init({
  dsn: process.env.DSN,
  release: process.env.RELEASE ?? 'shop@1.0.0',
  environment: process.env.ENVIRONMENT ?? 'production',
  tracesSampleRate: 0,
  defaultIntegrations: false,
  integrations: [Sentry.linkedErrorsIntegration(), Sentry.contextLinesIntegration()],
});
Sentry.setUser({ id: 'customer-7', email: 'c7@example.com' });
Sentry.setTag('checkout.step', 'payment');
Sentry.addBreadcrumb({ category: 'cart', message: 'added 2 items', level: 'info' });

function chargeCustomerCard(amount) {
  throw new TypeError(`card declined for ${amount}`);
}
function checkoutCart() {
  return chargeCustomerCard(42);
}

let exceptionId;
try {
  checkoutCart();
} catch (e) {
  exceptionId = Sentry.captureException(e);
}
const messageId = process.env.ONLY_EXCEPTION ? null : Sentry.captureMessage('inventory low', 'warning');
const flushed = await Sentry.close(10_000);
console.log(JSON.stringify({ exceptionId, messageId, flushed }));
