// The readiness probe of an instance: one HTTP request to its published address (a new instance joins the balancer once it answers).
import { request } from 'node:http';

/** How long one probe waits for an answer before it counts as not ready. */
const READINESS_TIMEOUT_MS = 1000;

/** True when the instance answers; injected into the host so tests can decide readiness. */
export type ReadinessProbe = (address: string, healthPath: string) => Promise<boolean>;

/**
 * A plain TCP connect is not enough here: Docker's userland proxy accepts
 * connections on the published port before the app inside listens, then
 * drops them. So the probe sends `GET health_path` (or `/`) and counts any
 * HTTP answer as ready when no health path is set, and a status below 400
 * when one is.
 */
export const httpReadiness: ReadinessProbe = (address, healthPath) =>
  new Promise<boolean>((resolve) => {
    const [host, port] = splitAddress(address);
    const req = request(
      { host, port, path: healthPath || '/', method: 'GET', timeout: READINESS_TIMEOUT_MS, headers: { connection: 'close' } },
      (res) => {
        res.resume();
        resolve(healthPath ? (res.statusCode ?? 500) < 400 : true);
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => resolve(false));
    req.end();
  });

/** `host:port` (IPv6 in brackets) → host without brackets and port. */
export function splitAddress(address: string): [string, number] {
  const colon = address.lastIndexOf(':');
  return [address.slice(0, colon).replace(/^\[|\]$/g, ''), Number(address.slice(colon + 1))];
}
