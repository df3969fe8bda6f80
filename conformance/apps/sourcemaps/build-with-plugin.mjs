// Builds the source-map cells' app with esbuild and the official Sentry bundler plugin, which injects
// debug ids and uploads the bundle itself (to the organization's regionUrl: the server's PUBLIC_URL).
// A process of its own, as a build is. Usage:
//   node build-with-plugin.mjs <node|browser> <server url> <token> <org> <project> <release> <out dir>
import { build } from 'esbuild';
import { sentryEsbuildPlugin } from '@sentry/bundler-plugins/esbuild';
import { fileURLToPath } from 'node:url';

const [platform, url, authToken, org, project, release, outdir] = process.argv.slice(2);
const browser = platform === 'browser';
await build({
  entryPoints: [fileURLToPath(new URL(browser ? './src/browser-main.js' : './src/node-main.js', import.meta.url))],
  bundle: true,
  minify: true,
  sourcemap: true,
  platform,
  format: browser ? 'iife' : 'esm',
  external: browser ? [] : ['@sentry/node'],
  outfile: `${outdir}/app.js`,
  banner: { js: '/* conformance build with the bundler plugin */' },
  logLevel: 'warning',
  plugins: [sentryEsbuildPlugin({ url, authToken, org, project, release: { name: release, create: false, finalize: false }, telemetry: false })],
});
