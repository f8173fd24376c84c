// Serves the bundled dashboard: the page at GET / and GET /endpoints/NAME (the app routes in the browser) and its assets under /dashboard/.
import express, { type Request, type Response, type NextFunction, type Router } from 'express';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { assetRoute, bundleDir, notBuilt, sendPage } from '../web/static.js';

/** The files scripts/build-dashboard.mjs writes, with the type each is sent as. */
const ASSETS: Record<string, string> = {
  'dashboard.js': 'text/javascript; charset=utf-8',
  'dashboard.css': 'text/css; charset=utf-8',
};

const NOT_BUILT = 'The Reactor dashboard is not built: run `npm run build` (or `node scripts/build-dashboard.mjs`) and reload.\n';

/**
 * Routes for the dashboard; mount at the root. The page is public (like the
 * explorer's): it holds no data, and every request it makes carries the API
 * key the operator gives it.
 * - `GET /` and `GET /endpoints/NAME` get the page (the app reads the path);
 * - `GET /dashboard/dashboard.js|css` the assets, cached for a year, gzipped when accepted;
 * - while the bundle is missing, 503 with a one-line hint.
 */
export function dashboardRouter(assetDir: string = bundleDir('dashboard')): Router {
  const router = express.Router();
  const indexFile = join(assetDir, 'index.html');
  const page = (req: Request, res: Response, next: NextFunction) => {
    if (!existsSync(indexFile)) return notBuilt(res, NOT_BUILT);
    sendPage(req, res, next, indexFile);
  };
  router.get('/', page);
  router.get('/endpoints/:name', page);
  router.get('/dashboard/:file', assetRoute('dashboard', assetDir, ASSETS, NOT_BUILT));
  return router;
}
