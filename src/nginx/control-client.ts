// The client of nginx's loopback control server: which configuration generation the master serves and its stub_status numbers.
import http from 'node:http';
import { CONTROL_TOKEN_HEADER } from './control-token.js';
import { CONTROL_PEERS_PATH } from './lua-balancer.js';
import { CONTROL_GENERATION_PATH, CONTROL_STATUS_PATH } from './render.js';

/** One request to 127.0.0.1:`port` on a fresh connection; rejects on a network error or after `timeoutMs`. */
function request(
  method: 'GET' | 'PUT',
  port: number,
  path: string,
  timeoutMs: number,
  options: { body?: string; headers?: Record<string, string> } = {},
): Promise<{ status: number; body: string }> {
  const { body, headers = {} } = options;
  const sent = body === undefined ? {} : { 'content-type': 'text/plain', 'content-length': String(Buffer.byteLength(body)) };
  return new Promise((done, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port, path, method, agent: false, headers: { connection: 'close', ...sent, ...headers }, timeout: timeoutMs },
      (response) => {
        let text = '';
        response.setEncoding('utf8');
        response.on('data', (chunk) => (text += chunk));
        response.on('end', () => done({ status: response.statusCode ?? 0, body: text }));
        response.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
    req.end(body);
  });
}

/**
 * The rendered configuration puts a control server on 127.0.0.1:`port` that
 * answers the generation number it was rendered with: a reload is done when
 * the new number comes back. Every master gets a fresh port, set here before
 * it starts.
 */
export class ControlClient {
  port = 0;
  /** The prefix's control token (src/nginx/control-token.ts), sent with every peer list. */
  token = '';

  /** The generation nginx serves, or null while the control server does not answer (starting, reloading, down). */
  async generation(timeoutMs = 500): Promise<number | null> {
    try {
      const { status, body } = await request('GET', this.port, CONTROL_GENERATION_PATH, timeoutMs);
      const text = body.trim();
      return status === 200 && /^\d+$/.test(text) ? Number(text) : null;
    } catch {
      return null;
    }
  }

  /** Hands the Lua balancer a new peer list; true once every worker will serve it, otherwise why not. */
  async putPeers(text: string, timeoutMs = 2000): Promise<true | string> {
    try {
      const { status, body } = await request('PUT', this.port, CONTROL_PEERS_PATH, timeoutMs, { body: text, headers: { [CONTROL_TOKEN_HEADER]: this.token } });
      return status === 200 ? true : `the control server answered ${status}: ${body.trim()}`;
    } catch (error) {
      return `the control server did not take the peer list: ${(error as Error).message}`;
    }
  }

  /** nginx's stub_status numbers (active connections etc.), or null when it does not answer. */
  async status(timeoutMs = 1000): Promise<Record<string, number> | null> {
    try {
      const { body } = await request('GET', this.port, CONTROL_STATUS_PATH, timeoutMs);
      const numbers = body.match(/\d+/g)?.map(Number) ?? [];
      const [active, accepts, handled, requests, reading, writing, waiting] = numbers;
      return { active, accepts, handled, requests, reading, writing, waiting };
    } catch {
      return null;
    }
  }
}
