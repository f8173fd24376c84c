// Serves the bundled GraphiQL explorer: the page at GET /graphql for browsers (Accept: text/html) and its assets under /explorer/.
import express, { type Router } from 'express';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { assetRoute, bundleDir, notBuilt, sendPage } from '../web/static.js';

/** The files scripts/build-explorer.mjs writes, with the type each is sent as. */
const ASSETS: Record<string, string> = {
  'explorer.js': 'text/javascript; charset=utf-8',
  'explorer.css': 'text/css; charset=utf-8',
};

const NOT_BUILT = 'The Reactor explorer is not built: run `npm run build` (or `node scripts/build-explorer.mjs`) and reload.\n';

/** `<repo>/dist/explorer`. */
export function defaultExplorerAssetDir(): string {
  return bundleDir('explorer');
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
    if (!built()) return notBuilt(res, NOT_BUILT);
    sendPage(req, res, next, indexFile);
  });

  router.get('/explorer/:file', assetRoute('explorer', assetDir, ASSETS, NOT_BUILT));

  return router;
}
