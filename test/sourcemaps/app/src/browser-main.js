import * as Sentry from '@sentry/browser';
import { checkoutCart } from './checkout.js';

// The browser build of the app: the page's query names the DSN and release; when the event is sent
// (flushed), window.__appDone holds its id.
const q = new URLSearchParams(location.search);
Sentry.init({ dsn: q.get('dsn'), release: q.get('release'), defaultIntegrations: false, integrations: [Sentry.linkedErrorsIntegration()] });

let eventId;
try {
  checkoutCart([{ price: 30 }, { price: 12 }]);
} catch (e) {
  eventId = Sentry.captureException(e);
}
Sentry.flush(10_000).then((flushed) => {
  window.__appDone = { eventId, flushed };
});
