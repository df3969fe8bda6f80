import * as Sentry from '@sentry/node';
import { checkoutCart } from './checkout.js';

Sentry.init({
  dsn: process.env.DSN,
  release: process.env.RELEASE,
  tracesSampleRate: 0,
  defaultIntegrations: false,
  integrations: [Sentry.linkedErrorsIntegration()],
});

let eventId;
try {
  checkoutCart([{ price: 30 }, { price: 12 }]);
} catch (e) {
  eventId = Sentry.captureException(e);
}
const flushed = await Sentry.close(10_000);
console.log(JSON.stringify({ eventId, flushed }));
