// A small Node program that reports to crash-cache through @sentry/node, one scenario per run.
// Usage: SENTRY_DSN=... CC_MARKER=... CC_RELEASE=... node app.mjs <scenario>
import * as Sentry from '@sentry/node';

const scenario = process.argv[2];
const M = process.env.CC_MARKER ?? '';

class ConformanceError extends Error {
  constructor(message, options) {
    super(message, options);
    this.name = 'ConformanceError';
  }
}

// A few frames deep so the event carries a real stack trace with in-app frames.
function failDeep(what) {
  return failDeeper(what);
}
function failDeeper(what) {
  return new ConformanceError(`conformance ${what} ${M}`);
}

Sentry.init({
  dsn: process.env.SENTRY_DSN,
  release: process.env.CC_RELEASE,
  environment: 'conformance',
  tracesSampleRate: 1.0,
  beforeSend(event) {
    // An uncaught exception's id is known only here; the suite finds the event by it.
    if (scenario === 'unhandled') console.log(`event_id=${event.event_id}`);
    return event.message?.includes('drop-me') ? null : event; // recorded as a client report (before_send)
  },
});

// The suite finds exactly this run's event by the id printed here.
const report = (id) => console.log(`event_id=${id}`);

switch (scenario) {
  case 'handled':
    try {
      throw failDeep('handled');
    } catch (e) {
      report(Sentry.captureException(e));
    }
    break;
  case 'unhandled':
  case 'crash': // the same; the suite checks the process session's crash instead of the event
    // onUncaughtException captures it, flushes and exits the process.
    setTimeout(() => {
      throw failDeep('unhandled');
    }, 0);
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
    // The SDK starts a process session at init; a captured error marks it errored.
    report(Sentry.captureException(failDeep('session')));
    break;
  case 'transaction':
    await Sentry.startSpan({ name: `conformance-tx-${M}`, op: 'conformance' }, async () => {
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
  case 'checkin': {
    const slug = process.env.CC_MONITOR;
    const checkInId = Sentry.captureCheckIn({ monitorSlug: slug, status: 'in_progress' });
    Sentry.captureCheckIn({ checkInId, monitorSlug: slug, status: 'ok', duration: 1 });
    break;
  }
  case 'client_report':
    Sentry.captureMessage(`drop-me ${M}`);
    report(Sentry.captureMessage(`conformance client_report ${M}`));
    // The drop is recorded once beforeSend has run (asynchronously); flush twice so that the
    // client report of that drop goes out too (close() flushes outcomes again).
    await Sentry.flush(5_000);
    break;
  case 'compression':
    // @sentry/node gzips only bodies above 32 KiB, so this event is made larger than that.
    Sentry.setContext('payload', { text: `compressible conformance payload ${M} `.repeat(1500) });
    report(Sentry.captureMessage(`conformance compression ${M}`));
    break;
  case 'ratelimit':
    // One event at a time, each flushed, so the 429's X-Sentry-Rate-Limits is known before the next.
    for (let i = 1; i <= 25; i++) {
      Sentry.captureMessage(`conformance ratelimit ${i} ${M}`);
      await Sentry.flush(5_000);
    }
    break;
  default:
    console.error(`unsupported scenario ${scenario}`);
    process.exit(3);
}
if (scenario !== 'unhandled' && scenario !== 'crash') await Sentry.close(10_000);
