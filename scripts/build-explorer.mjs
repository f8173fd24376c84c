// Bundles the GraphiQL explorer (src/explorer/app.tsx with GraphiQL's CSS) into dist/explorer, so the server can offer it with no network access.
import { build } from 'esbuild';
import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const outdir = join(root, 'dist', 'explorer');
// Build beside the live directory and swap it in, so a running server never sees half a bundle.
const staging = `${outdir}.tmp-${process.pid}`;
const started = performance.now();

await rm(staging, { recursive: true, force: true });
await mkdir(staging, { recursive: true });

try {
  await build({
    absWorkingDir: root,
    entryPoints: { explorer: 'src/explorer/app.tsx' },
    outdir: staging,
    bundle: true,
    minify: true,
    splitting: false,
    format: 'iife',
    platform: 'browser',
    target: ['chrome109', 'edge109', 'firefox115', 'safari16'],
    jsx: 'automatic',
    define: { 'process.env.NODE_ENV': '"production"' },
    legalComments: 'eof',
    logLevel: 'warning',
  });

  const js = await readFile(join(staging, 'explorer.js'));
  const css = await readFile(join(staging, 'explorer.css'));
  // The assets are cached for a year; the content hash in the URL is what makes a new build load.
  const version = (content) => createHash('sha256').update(content).digest('hex').slice(0, 12);
  await writeFile(join(staging, 'index.html'), indexHtml(version(js), version(css)));
  // Precompressed copies, sent to browsers that accept gzip (about a quarter of the size).
  await writeFile(join(staging, 'explorer.js.gz'), gzipSync(js, { level: 9 }));
  await writeFile(join(staging, 'explorer.css.gz'), gzipSync(css, { level: 9 }));

  await swapIn();
} catch (error) {
  await rm(staging, { recursive: true, force: true });
  console.error(`build-explorer: ${error instanceof Error ? error.message : error}`);
  process.exit(1);
}

const elapsed = ((performance.now() - started) / 1000).toFixed(2);
for (const name of ['index.html', 'explorer.js', 'explorer.css']) {
  const file = join(outdir, name);
  const size = (await stat(file)).size;
  const gz = name === 'index.html' ? '' : `  (${kb((await stat(`${file}.gz`)).size)} gzip)`;
  console.log(`  ${relative(root, file).padEnd(28)} ${kb(size).padStart(10)}${gz}`);
}
console.log(`build-explorer: done in ${elapsed} s`);

async function swapIn() {
  for (let attempt = 0; ; attempt++) {
    await rm(outdir, { recursive: true, force: true });
    try {
      await rename(staging, outdir);
      return;
    } catch (error) {
      // Another build swapped its copy in between our rm and rename: replace it.
      if (attempt >= 3 || !['ENOTEMPTY', 'EEXIST'].includes(error.code)) throw error;
    }
  }
}

function kb(bytes) {
  return `${(bytes / 1024).toFixed(1)} kB`;
}

function indexHtml(jsVersion, cssVersion) {
  return `<!doctype html>
<!-- Reactor explorer: GraphiQL served from this server's own files (scripts/build-explorer.mjs). -->
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
    <meta name="referrer" content="no-referrer" />
    <title>Reactor explorer</title>
    <link rel="icon" href="data:," />
    <link rel="stylesheet" href="/explorer/explorer.css?v=${cssVersion}" />
  </head>
  <body>
    <div id="root"></div>
    <noscript>The Reactor explorer needs JavaScript.</noscript>
    <script src="/explorer/explorer.js?v=${jsVersion}"></script>
  </body>
</html>
`;
}
