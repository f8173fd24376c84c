// GET /metrics: the Prometheus exposition, behind the same API key as the GraphQL API (X-Auth-Key, or Authorization: Bearer for Prometheus' own `authorization` setting).
import type { Request, Response } from 'express';
import { ErrorCodes } from '../errors/codes.js';
import type { Telemetry } from '../telemetry/prometheus.js';
import { keyMatches } from './auth.js';
import { httpErrorBody } from './errors.js';

export const METRICS_PATH = '/metrics';

/** The key a scrape sent: X-Auth-Key, or the credentials of `Authorization: Bearer …`. */
function scrapeKey(req: Request): string | undefined {
  const bearer = /^Bearer\s+(.+)$/i.exec(req.get('authorization') ?? '')?.[1];
  return req.get('x-auth-key') ?? bearer;
}

export function metricsRoute(telemetry: Telemetry, apiKey: string | undefined) {
  return async (req: Request, res: Response) => {
    if (apiKey && !keyMatches(apiKey, scrapeKey(req))) {
      res
        .status(401)
        .json(httpErrorBody(ErrorCodes.UNAUTHENTICATED, 'missing or wrong API key: send it in the X-Auth-Key header or as Authorization: Bearer'));
      return;
    }
    try {
      const text = await telemetry.metrics();
      res.set('content-type', telemetry.contentType).send(text);
    } catch (error) {
      res.status(500).type('text/plain').send(`metrics could not be collected: ${(error as Error).message}\n`);
    }
  };
}
