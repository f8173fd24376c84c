// Serves the bundled GraphiQL explorer: the page at GET /graphql for browsers (Accept: text/html) and its assets under /explorer/.
import express, { type Request, type Response, type Router } from 'express';
import { existsSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The files scripts/build-explorer.mjs writes, with the type each is sent as. */
const ASSETS: Record<string, string> = {
  'explorer.js': 'text/javascript; charset=utf-8',
  'explorer.css': 'text/css; charset=utf-8',
};

const NOT_BUILT = 'The Reactor explorer is not built: run `npm run build` (or `node scripts/build-explorer.mjs`) and reload.\n';

/**
 * `<repo>/dist/explorer`, found from this file's own place: `<repo>/src/explorer/`
 * when run from source (tsx), `<repo>/dist/src/explorer/` when compiled.
 */
export function defaultExplorerAssetDir(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const up2 = resolve(here, '..', '..');
  const repo = basename(up2) === 'dist' ? dirname(up2) : up2;
  return join(repo, 'dist', 'explorer');
}

/**
 * Routes for the explorer; mount at the root, before Apollo's middleware:
 * - `GET /graphql` whose `Accept` includes `text/html` gets the page; any
 *   other request falls through (`next()`) to the GraphQL server.
 * - `GET /explorer/explorer.js|css` gets the assets, cached for a year (the
 *   page links them with a content hash), gzipped when the browser accepts it.
 * - While the bundle is missing, both answer 503 with a one-line hint.
 */
export function explorerRouter(assetDir: string = defaultExplorerAssetDir()): Router {
  const router = express.Router();
  const indexFile = join(assetDir, 'index.html');
  const built = () => existsSync(indexFile);

  router.get('/graphql', (req, res, next) => {
    if (!(req.get('accept') ?? '').toLowerCase().includes('text/html')) {
      next();
      return;
    }
    res.vary('Accept'); // the same URL answers JSON to GraphQL clients
    if (!built()) {
      notBuilt(res);
      return;
    }
    res.set({
      'Cache-Control': 'no-cache',
      'Content-Security-Policy': contentSecurityPolicy(req),
      'Referrer-Policy': 'no-referrer',
      'X-Content-Type-Options': 'nosniff',
    });
    res.sendFile(indexFile, { cacheControl: false }, (error) => {
      if (error && !res.headersSent) next(error);
    });
  });

  router.get('/explorer/:file', (req, res, next) => {
    const file = req.params.file as string;
    const type = ASSETS[file];
    if (!type) {
      res.status(404).type('text/plain').send(`No explorer asset named ${JSON.stringify(file)}.\n`);
      return;
    }
    if (!built()) {
      notBuilt(res);
      return;
    }
    const path = join(assetDir, file);
    const gzipped = `${path}.gz`;
    const useGzip = req.acceptsEncodings('gzip', 'identity') === 'gzip' && existsSync(gzipped);
    res.vary('Accept-Encoding');
    res.set({
      'Content-Type': type,
      'X-Content-Type-Options': 'nosniff',
      ...(useGzip ? { 'Content-Encoding': 'gzip' } : {}),
    });
    res.sendFile(useGzip ? gzipped : path, { maxAge: '365d', immutable: true, acceptRanges: !useGzip }, (error) => {
      if (error && !res.headersSent) next(error);
    });
  });

  return router;
}

function notBuilt(res: Response): void {
  res.status(503).set('Cache-Control', 'no-store').type('text/plain').send(NOT_BUILT);
}

/**
 * Everything from this origin only: the bundle, its inline styles (CodeMirror
 * and React set some), fonts embedded as data: URLs, and fetch/WebSocket back
 * to this server. The WebSocket origin is spelled out for browsers whose
 * 'self' does not cover ws:/wss:.
 */
function contentSecurityPolicy(req: Request): string {
  const host = req.get('host') ?? '';
  const sockets = /^[A-Za-z0-9.\-:[\]]+$/.test(host) ? ` ws://${host} wss://${host}` : '';
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data:",
    "font-src 'self' data:",
    `connect-src 'self'${sockets}`,
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}
