// Builds the app into OUT with esbuild (minified, with a source map). VARIANTs 'b' and 'c' minify
// differently (another layout and line breaks), as later deploys of the same source would.
import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';

export async function buildApp(outdir, variant = 'a') {
  await build({
    entryPoints: [fileURLToPath(new URL('./src/main.js', import.meta.url))],
    bundle: true,
    minify: true,
    sourcemap: true,
    platform: 'node',
    format: 'esm',
    external: ['@sentry/node'],
    outfile: `${outdir}/app.js`,
    banner: variant === 'a' ? undefined : { js: `/* build ${variant} */ const __${variant} = 1;` },
    lineLimit: variant === 'b' ? 60 : variant === 'c' ? 90 : 0,
    logLevel: 'silent',
  });
}
