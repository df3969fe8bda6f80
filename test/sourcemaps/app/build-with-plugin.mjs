// Builds the app with esbuild and the official Sentry bundler plugin, which injects debug ids and
// uploads the bundle itself. Usage: node build-with-plugin.mjs <server url> <token> <out dir>
import { build } from 'esbuild';
import { sentryEsbuildPlugin } from '@sentry/bundler-plugins/esbuild';
import { fileURLToPath } from 'node:url';

const [url, authToken, outdir] = process.argv.slice(2);
await build({
  entryPoints: [fileURLToPath(new URL('./src/main.js', import.meta.url))],
  bundle: true,
  minify: true,
  sourcemap: true,
  platform: 'node',
  format: 'esm',
  external: ['@sentry/node'],
  outfile: `${outdir}/app.js`,
  banner: { js: '/* built with the bundler plugin */' },
  logLevel: 'warning',
  plugins: [sentryEsbuildPlugin({ url, authToken, org: 'acme', project: 'shop', release: { name: 'shop@plugin', create: false, finalize: false }, telemetry: false, debug: !!process.env.PLUGIN_DEBUG })],
});
