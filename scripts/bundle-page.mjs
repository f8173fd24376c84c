// Bundles one browser page (a .tsx entry and the CSS it imports) into dist/<name> with esbuild, so the server can offer it with no network access; used by build-explorer.mjs and build-dashboard.mjs.
import { build } from 'esbuild';
import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/**
 * Writes dist/<name>/{index.html, <name>.js, <name>.css} and gzipped copies of
 * the assets, then prints their sizes. `title` and `noscript` go into the
 * page; the assets are linked as /<name>/<name>.js?v=<content hash>.
 */
export async function bundlePage({ name, entry, title, noscript }) {
  const outdir = join(root, 'dist', name);
  // Build beside the live directory and swap it in, so a running server never sees half a bundle.
  const staging = `${outdir}.tmp-${process.pid}`;
  const started = performance.now();

  await rm(staging, { recursive: true, force: true });
  await mkdir(staging, { recursive: true });

  try {
    await build({
      absWorkingDir: root,
      entryPoints: { [name]: entry },
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

    const js = await readFile(join(staging, `${name}.js`));
    const css = await readFile(join(staging, `${name}.css`));
    // The assets are cached for a year; the content hash in the URL is what makes a new build load.
    const version = (content) => createHash('sha256').update(content).digest('hex').slice(0, 12);
    await writeFile(join(staging, 'index.html'), indexHtml({ name, title, noscript, jsVersion: version(js), cssVersion: version(css) }));
    // Precompressed copies, sent to browsers that accept gzip (about a quarter of the size).
    await writeFile(join(staging, `${name}.js.gz`), gzipSync(js, { level: 9 }));
    await writeFile(join(staging, `${name}.css.gz`), gzipSync(css, { level: 9 }));

    await swapIn(staging, outdir);
  } catch (error) {
    await rm(staging, { recursive: true, force: true });
    console.error(`build-${name}: ${error instanceof Error ? error.message : error}`);
    process.exit(1);
  }

  const elapsed = ((performance.now() - started) / 1000).toFixed(2);
  for (const file of ['index.html', `${name}.js`, `${name}.css`]) {
    const path = join(outdir, file);
    const size = (await stat(path)).size;
    const gz = file === 'index.html' ? '' : `  (${kb((await stat(`${path}.gz`)).size)} gzip)`;
    console.log(`  ${relative(root, path).padEnd(28)} ${kb(size).padStart(10)}${gz}`);
  }
  console.log(`build-${name}: done in ${elapsed} s`);
}

async function swapIn(staging, outdir) {
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

function indexHtml({ name, title, noscript, jsVersion, cssVersion }) {
  return `<!doctype html>
<!-- ${title}: served from this server's own files (scripts/bundle-page.mjs). -->
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
    <meta name="referrer" content="no-referrer" />
    <title>${title}</title>
    <link rel="icon" href="data:," />
    <link rel="stylesheet" href="/${name}/${name}.css?v=${cssVersion}" />
  </head>
  <body>
    <div id="root"></div>
    <noscript>${noscript}</noscript>
    <script src="/${name}/${name}.js?v=${jsVersion}"></script>
  </body>
</html>
`;
}
