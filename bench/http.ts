// Small loopback helpers the benchmarks share: a one-shot GET on a fresh connection, and how tightly to poll.
import http from 'node:http';

/** One GET on a fresh connection, so each request measures a full connect as a curl loop would. */
export function get(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { agent: false, headers: { connection: 'close' } }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      })
      .on('error', reject);
  });
}

/** How benchmarks poll with test/support/wait.ts `waitFor`: every 2 ms, since the poll itself is being timed. */
export const POLL = { intervalMs: 2, timeoutMs: 30_000 };
