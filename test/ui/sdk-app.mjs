// Sends one event to crash-cache with the official @sentry/node SDK, then exits.
// Usage: SENTRY_DSN=... UI_MARKER=... node sdk-app.mjs <error|xss>
import * as Sentry from '@sentry/node';

const M = process.env.UI_MARKER ?? '';
const XSS_SCRIPT = '<script>window.__xss = 1; console.log("XSS-RAN")</script>';
const XSS_IMG = '<img src=x onerror="window.__xss = 2; alert(\'XSS-RAN\')">';

Sentry.init({
  dsn: process.env.SENTRY_DSN,
  release: 'ui-test@1.0.0',
  environment: 'e2e',
  beforeSend(event) {
    if (process.argv[2] !== 'xss') return event;
    // Hostile text in every place the UI prints: frames, context lines, tags, breadcrumbs, user.
    for (const ex of event.exception?.values ?? []) {
      ex.type = `XssError${XSS_IMG}`;
      for (const f of ex.stacktrace?.frames ?? []) {
        f.function = `${XSS_IMG}${f.function ?? ''}`;
        f.filename = `${XSS_SCRIPT}${f.filename ?? ''}`;
        if (f.context_line !== undefined) f.context_line = `${XSS_SCRIPT} ${f.context_line}`;
        f.vars = { '<b>key</b>': XSS_IMG };
      }
    }
    event.tags = { ...event.tags, xss: XSS_SCRIPT };
    event.user = { id: XSS_IMG, username: XSS_SCRIPT };
    event.breadcrumbs = [{ category: XSS_SCRIPT, message: XSS_IMG, level: 'info', timestamp: Date.now() / 1000 }];
    return event;
  },
});

function chargeCustomerCard(amount) {
  // the in-app frame the UI test looks for
  throw new Error(`card declined for ${amount} ${M}`);
}

function checkoutCart() {
  return chargeCustomerCard(42);
}

try {
  if (process.argv[2] === 'xss') throw new Error(`hostile ${M} ${XSS_SCRIPT}${XSS_IMG}`);
  checkoutCart();
} catch (e) {
  Sentry.captureException(e);
}
await Sentry.flush(10_000);
