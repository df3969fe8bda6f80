// The SDKs under test: how to find their version, how to run one scenario, and which features the
// SDK itself does not offer (with the reason, shown in the matrix instead of a result).
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

const execFileP = promisify(execFile);

export const FEATURES = [
  ['handled', 'Handled exception'],
  ['unhandled', 'Unhandled exception'],
  ['message', 'Message'],
  ['chained', 'Chained exception'],
  ['breadcrumbs', 'Breadcrumbs'],
  ['context', 'Tags, user, contexts'],
  ['release', 'Release + environment'],
  ['session', 'Session (release health)'],
  ['crash', 'Session with an unhandled error (crash-free rate)'],
  ['transaction', 'Transaction'],
  ['attachment', 'Attachment'],
  ['feedback', 'User feedback'],
  ['checkin', 'Cron check-in'],
  ['client_report', 'Client report'],
  ['compression', 'Default compression (large event)'],
  ['ratelimit', 'Rate-limit back-off (429)'],
  ['sourcemap', 'Source maps: minified bundle read back as original code'],
  ['sourcemap_grouping', 'Source maps: two builds minified differently, one issue'],
  ['sourcemap_late', 'Source maps: an event sent before the upload, symbolicated after'],
  ['sourcemap_plugin', 'Source maps: uploaded by the esbuild bundler plugin'],
];

// The source-map cells (lib/sourcemaps.mjs) are for the JavaScript SDKs; the others' frames are not
// minified JavaScript.
const JS_ONLY = ['sourcemap', 'sourcemap_grouping', 'sourcemap_late', 'sourcemap_plugin'];

async function out(cmd, args, opts = {}) {
  try {
    const { stdout } = await execFileP(cmd, args, { timeout: 30_000, ...opts });
    return stdout.trim();
  } catch {
    return null;
  }
}

export function sdks(root) {
  const c = join(root, 'conformance');
  const cache = join(c, '.cache');
  const json = (p) => JSON.parse(readFileSync(p, 'utf8'));
  const list = [
    {
      id: 'node', label: '@sentry/node', platform: 'node', contextLines: true,
      version: () => json(join(root, 'node_modules/@sentry/node/package.json')).version,
      missing: () => (existsSync(join(root, 'node_modules/@sentry/node')) ? null : '@sentry/node not installed (npm ci)'),
      command: (s) => [process.execPath, [join(c, 'apps/node/app.mjs'), s]],
      unsupported: {},
    },
    {
      id: 'browser', label: '@sentry/browser', platform: 'javascript', contextLines: false, browser: true,
      // An unhandled error does not end a page: the session ends with status "unhandled", not "crashed".
      unhandledSessionStatus: 'unhandled',
      version: () => json(join(cache, 'npm/node_modules/@sentry/browser/package.json')).version,
      missing: () =>
        !existsSync(join(cache, 'npm/node_modules/@sentry/browser')) ? '@sentry/browser not installed (conformance/install.sh)'
        : !existsSync('/usr/bin/chromium') ? 'chromium not installed (conformance/install.sh)' : null,
      unsupported: {
        checkin: 'cron check-ins are a server-side API; @sentry/browser does not export captureCheckIn',
        compression: null, // runs: the browser transport never compresses, so the cell shows identity encoding
      },
    },
    {
      id: 'python', label: 'sentry-sdk (Python)', platform: 'python', contextLines: true,
      version: () => out(join(cache, 'venv/bin/python'), ['-c', 'import sentry_sdk; print(sentry_sdk.VERSION)']),
      missing: () => (existsSync(join(cache, 'venv/bin/python')) ? null : 'venv missing (conformance/install.sh)'),
      command: (s) => [join(cache, 'venv/bin/python'), [join(c, 'apps/python/app.py'), s]],
      unsupported: { feedback: 'sentry-sdk has no API to send user feedback' },
    },
    {
      id: 'go', label: 'sentry-go', platform: 'go', contextLines: true,
      // Go errors carry no stack: sentry-go records where they were captured (main) or recovered.
      frameFunction: /^main$|failDeep/,
      version: () => /getsentry\/sentry-go (v[\d.]+)/.exec(readFileSync(join(c, 'apps/go/go.mod'), 'utf8'))?.[1],
      missing: () => (existsSync(join(cache, 'bin/goapp')) ? null : 'Go app not built (conformance/install.sh)'),
      command: (s) => [join(cache, 'bin/goapp'), [s]],
      unsupported: {
        session: 'sentry-go has no release-health sessions',
        crash: 'sentry-go has no release-health sessions',
        feedback: 'sentry-go has no API to send user feedback',
      },
    },
    {
      id: 'java', label: 'io.sentry:sentry (Java)', platform: 'java', contextLines: false,
      version: () => /<sentry.version>([^<]+)</.exec(readFileSync(join(c, 'apps/java/pom.xml'), 'utf8'))?.[1],
      missing: () => (existsSync(join(c, 'apps/java/target/javaapp-1.0.jar')) ? null : 'Java app not built (conformance/install.sh)'),
      command: (s) => ['java', ['-cp', `${join(c, 'apps/java/target/javaapp-1.0.jar')}:${join(c, 'apps/java/target/deps')}/*`, 'conformance.Main', s]],
      unsupported: {},
    },
    {
      id: 'rust', label: 'sentry (Rust crate)', platform: 'native', contextLines: false,
      // Rust errors carry no stack: the SDK attaches the capturing thread's stack (main), or the panic's.
      frameFunction: /fail_deep|panic_deep|rustapp::main$/,
      version: () => /name = "sentry"\nversion = "([^"]+)"/.exec(readFileSync(join(c, 'apps/rust/Cargo.lock'), 'utf8'))?.[1],
      missing: () => (existsSync(join(c, 'apps/rust/target/debug/rustapp')) ? null : 'Rust app not built (conformance/install.sh)'),
      command: (s) => [join(c, 'apps/rust/target/debug/rustapp'), [s]],
      unsupported: {
        feedback: 'the sentry crate has no API to send user feedback',
        checkin: 'the sentry crate has no API to send cron check-ins',
        client_report: 'the sentry crate does not send client reports',
      },
    },
    {
      id: 'ruby', label: 'sentry-ruby (Debian)', platform: 'ruby', contextLines: true,
      version: () => out('ruby', ['-e', 'require "sentry-ruby"; print Sentry::VERSION']),
      missing: () => (existsSync('/usr/bin/ruby') ? null : 'ruby-sentry-ruby not installed (conformance/install.sh)'),
      command: (s) => ['ruby', [join(c, 'apps/ruby/app.rb'), s]],
      unsupported: {
        unhandled: 'sentry-ruby 5.3 captures uncaught exceptions only through its Rack/Rake integrations, not in plain scripts',
        crash: 'sentry-ruby 5.3 does not capture uncaught exceptions in plain scripts, so no session ends crashed',
        attachment: 'sentry-ruby 5.3 has no attachments (added in 5.x later)',
        feedback: 'sentry-ruby 5.3 has no API to send user feedback',
        checkin: 'sentry-ruby 5.3 has no cron check-ins (added in 5.12)',
      },
    },
    {
      id: 'sentry-cli', label: 'sentry-cli send-event', platform: 'native', contextLines: false,
      version: () => out(join(root, 'node_modules/.bin/sentry-cli'), ['--version']).then((v) => v?.replace(/^sentry-cli /, '')),
      missing: () => (existsSync(join(root, 'node_modules/.bin/sentry-cli')) ? null : '@sentry/cli not installed (npm ci)'),
      command: (s) => ['bash', [join(c, 'apps/sentry-cli/app.sh'), s]],
      unsupported: {
        handled: 'send-event sends messages, not exceptions',
        unhandled: 'send-event sends messages, not exceptions',
        chained: 'send-event sends messages, not exceptions',
        session: 'sentry-cli sends no sessions',
        crash: 'sentry-cli sends no sessions',
        transaction: 'sentry-cli sends no transactions',
        attachment: 'send-event has no attachments',
        feedback: 'sentry-cli sends no user feedback',
        client_report: 'sentry-cli sends no client reports',
        compression: 'send-event events are small; no compression to exercise',
        ratelimit: 'each send-event is a new process: there is no state to back off in',
      },
    },
  ];
  for (const s of list) {
    if (s.id === 'node' || s.id === 'browser') continue;
    for (const f of JS_ONLY) s.unsupported[f] ??= 'source maps are for minified JavaScript, which this SDK does not report';
  }
  return list;
}
