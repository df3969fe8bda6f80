// Builds the source-map cells' app with esbuild (minified, with a source map) into OUTDIR/app.js.
// Variants minify differently (a banner shifts every column, lineLimit breaks lines elsewhere), as
// later deploys of the same source would; each variant's content, and so its injected debug id, differs.
// 'node' builds src/node-main.js with @sentry/node external (so OUTDIR must be under the project's
// node_modules); 'browser' bundles @sentry/browser (the project's dev dependency) into one script.
import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';

export async function buildApp(outdir, variant, platform) {
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
    banner: variant === 'a' ? undefined : { js: `/* conformance build ${variant} */ var __build_${variant} = 1;` },
    lineLimit: { a: 0, b: 60, c: 90 }[variant],
    logLevel: 'silent',
  });
}
