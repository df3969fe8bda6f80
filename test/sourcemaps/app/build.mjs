// Builds the app into OUT with esbuild (minified, with a source map). VARIANTs 'b' and 'c' minify
// differently (another layout and line breaks), as later deploys of the same source would.
// PLATFORM 'node' builds src/main.js (@sentry/node left external); 'browser' builds src/browser-main.js
// into one script for a page, @sentry/browser bundled into it as a web app ships it.
import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';

export async function buildApp(outdir, variant = 'a', platform = 'node') {
  const browser = platform === 'browser';
  await build({
    entryPoints: [fileURLToPath(new URL(browser ? './src/browser-main.js' : './src/main.js', import.meta.url))],
    bundle: true,
    minify: true,
    sourcemap: true,
    platform,
    format: browser ? 'iife' : 'esm',
    external: browser ? [] : ['@sentry/node'],
    outfile: `${outdir}/app.js`,
    banner: variant === 'a' ? undefined : { js: `/* build ${variant} */ var __${variant} = 1;` },
    lineLimit: variant === 'b' ? 60 : variant === 'c' ? 90 : 0,
    logLevel: 'silent',
  });
}
