// API key checks for HTTP (X-Auth-Key) and graphql-ws (connection_init payload), and the loopback rule.
import { timingSafeEqual, createHash } from 'node:crypto';
import { isIP } from 'node:net';

/** Compares through a hash so neither length nor content leaks through timing. */
export function keyMatches(expected: string, given: unknown): boolean {
  if (typeof given !== 'string' || given.length === 0) return false;
  const digest = (value: string) => createHash('sha256').update(value).digest();
  return timingSafeEqual(digest(expected), digest(given));
}

/** True for 127.0.0.0/8, ::1 and `localhost`: addresses only this machine can reach. */
export function isLoopback(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, '');
  if (bare === 'localhost') return true;
  if (isIP(bare) === 4) return bare.startsWith('127.');
  if (isIP(bare) === 6) return bare === '::1';
  return false;
}

/** The key a graphql-ws client sent in `connection_init`: `{ apiKey }` or `{ "X-Auth-Key": … }`. */
export function keyFromConnectionParams(params: Record<string, unknown> | undefined): unknown {
  if (!params) return undefined;
  return params.apiKey ?? params['X-Auth-Key'] ?? params['x-auth-key'];
}
