// @sentry/browser, bundled into the page's one script, reports the error. Query: ?dsn=&release=&marker=
// Sets window.__ccEventId, and window.__ccDone once flushed (what conformance/lib/browser.mjs waits for).
import * as Sentry from '@sentry/browser';
import { checkoutCart } from './checkout.js';

const q = new URLSearchParams(location.search);
Sentry.init({ dsn: q.get('dsn'), release: q.get('release'), defaultIntegrations: false, integrations: [Sentry.linkedErrorsIntegration()] });
try {
  checkoutCart([{ price: 30 }, { price: 12 }], q.get('marker'));
} catch (e) {
  window.__ccEventId = Sentry.captureException(e);
}
Sentry.flush(10_000).then((ok) => (window.__ccDone = ok ? 'ok' : 'error: not flushed'));
