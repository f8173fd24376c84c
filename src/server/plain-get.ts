// A plain GET of /graphql (curl, a link without a query) gets a short guide to the explorer, POST and the CLI, instead of Apollo's CSRF paragraph.
import type { NextFunction, Request, Response } from 'express';

/**
 * Browsers asking for HTML get the explorer (src/explorer/serve.ts, mounted
 * before this); a GET that carries a `query` goes on to Apollo; anything
 * else is someone finding out what this URL is.
 */
export function plainGetGuide(req: Request, res: Response, next: NextFunction): void {
  if (req.query.query !== undefined) {
    next();
    return;
  }
  const url = `${req.protocol}://${req.get('host') ?? 'localhost'}${req.baseUrl}${req.path === '/' ? '' : req.path}`;
  res
    .status(400)
    .type('text/plain')
    .send(
      [
        "This is Reactor's GraphQL API. It answers POST requests with a JSON body, for example:",
        '',
        `  curl -s -H 'content-type: application/json' -d '{"query": "{ endpoints { name state } }"}' ${url}`,
        '',
        `Open ${url} in a browser for the explorer (queries, mutations, subscriptions and the schema's documentation),`,
        `open ${req.protocol}://${req.get('host') ?? 'localhost'}/ for the live dashboard (endpoints, instances, metrics and decisions),`,
        `or use the CLI: reactor --api ${url} list`,
        '',
      ].join('\n'),
    );
}
