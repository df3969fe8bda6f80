// @sentry/node (left external, as a server bundle does) reports the error; prints event_id=<id>.
import * as Sentry from '@sentry/node';
import { checkoutCart } from './checkout.js';

Sentry.init({ dsn: process.env.SENTRY_DSN, release: process.env.CC_RELEASE, defaultIntegrations: false, integrations: [Sentry.linkedErrorsIntegration()] });
try {
  checkoutCart([{ price: 30 }, { price: 12 }], process.env.CC_MARKER);
} catch (e) {
  console.log(`event_id=${Sentry.captureException(e)}`);
}
if (!(await Sentry.close(10_000))) process.exitCode = 1;
