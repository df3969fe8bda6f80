// A small web page's script that reports to crash-cache through @sentry/browser, one scenario per page
// load. The page is served from another origin than the server (see conformance/lib/browser.mjs).
// Query: ?scenario=...&dsn=...&marker=...&release=...  Sets window.__ccDone when it has flushed.
import * as Sentry from '@sentry/browser';

const q = new URLSearchParams(location.search);
const scenario = q.get('scenario');
const M = q.get('marker') ?? '';

class ConformanceError extends Error {
  constructor(message, options) {
    super(message, options);
    this.name = 'ConformanceError';
  }
}
function failDeep(what) {
  return failDeeper(what);
}
function failDeeper(what) {
  return new ConformanceError(`conformance ${what} ${M}`);
}

Sentry.init({
  dsn: q.get('dsn'),
  release: q.get('release'),
  environment: 'conformance',
  tracesSampleRate: 1.0,
  integrations: [Sentry.browserTracingIntegration()],
  beforeSend(event) {
    if (scenario === 'unhandled') window.__ccEventId = event.event_id; // the suite finds the event by it
    return event.message?.includes('drop-me') ? null : event;
  },
});

const report = (id) => (window.__ccEventId = id);

async function run() {
  switch (scenario) {
    case 'handled':
      try {
        throw failDeep('handled');
      } catch (e) {
        report(Sentry.captureException(e));
      }
      break;
    case 'unhandled':
    case 'crash': // the same; the suite checks the page session's crash instead of the event
      // The GlobalHandlers integration reports it through window.onerror.
      setTimeout(() => {
        throw failDeep('unhandled');
      }, 0);
      await new Promise((r) => setTimeout(r, 50));
      break;
    case 'message':
      report(Sentry.captureMessage(`conformance message ${M}`));
      break;
    case 'chained':
      report(Sentry.captureException(new ConformanceError(`conformance outer ${M}`, { cause: failDeep('inner') })));
      break;
    case 'breadcrumbs':
      for (let i = 1; i <= 3; i++) Sentry.addBreadcrumb({ category: 'conformance', message: `crumb-${i} ${M}`, level: 'info' });
      report(Sentry.captureMessage(`conformance breadcrumbs ${M}`));
      break;
    case 'context':
      Sentry.setTag('cc_marker', M);
      Sentry.setUser({ id: `user-${M}`, email: 'conformance@example.com' });
      Sentry.setContext('conformance', { marker: M, answer: 42 });
      report(Sentry.captureMessage(`conformance context ${M}`));
      break;
    case 'release':
      report(Sentry.captureMessage(`conformance release ${M}`));
      break;
    case 'session':
      // browserSessionIntegration started a session at page load; a captured error marks it errored.
      report(Sentry.captureException(failDeep('session')));
      break;
    case 'transaction':
      await Sentry.startSpan({ name: `conformance-tx-${M}`, op: 'conformance', forceTransaction: true }, async () => {
        await Sentry.startSpan({ name: 'conformance.step', op: 'conformance.step' }, () => new Promise((r) => setTimeout(r, 5)));
      });
      break;
    case 'attachment':
      Sentry.withScope((scope) => {
        scope.addAttachment({ filename: 'conformance.txt', data: `attachment-bytes ${M}\n`, contentType: 'text/plain' });
        report(Sentry.captureMessage(`conformance attachment ${M}`));
      });
      break;
    case 'feedback': {
      const associatedEventId = Sentry.captureMessage(`conformance feedback event ${M}`);
      report(associatedEventId);
      Sentry.captureFeedback({ message: `conformance feedback ${M}`, name: 'Conformance User', email: 'conformance@example.com', associatedEventId });
      break;
    }
    case 'client_report':
      Sentry.captureMessage(`drop-me ${M}`);
      report(Sentry.captureMessage(`conformance client_report ${M}`));
      break;
    case 'compression':
      Sentry.setContext('payload', { text: `compressible conformance payload ${M} `.repeat(1500) });
      report(Sentry.captureMessage(`conformance compression ${M}`));
      break;
    case 'ratelimit':
      for (let i = 1; i <= 25; i++) {
        Sentry.captureMessage(`conformance ratelimit ${i} ${M}`);
        await Sentry.flush(5_000);
      }
      break;
    default:
      throw new Error(`unsupported scenario ${scenario}`);
  }
  await Sentry.flush(10_000);
  // Client reports go out when the page is hidden; make it so, as a user switching tabs would.
  if (scenario === 'client_report') {
    Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => 'hidden' });
    document.dispatchEvent(new Event('visibilitychange'));
    await Sentry.flush(10_000);
  }
}

run().then(
  () => (window.__ccDone = 'ok'),
  (e) => (window.__ccDone = `error: ${e?.message ?? e}`),
);
