// The client of nginx's loopback control server: which configuration generation the master serves, and its stub_status numbers.
import http from 'node:http';
import { CONTROL_PEERS_PATH } from './lua-balancer.js';
import { CONTROL_GENERATION_PATH, CONTROL_STATUS_PATH } from './render.js';

function httpGet(port: number, path: string, timeoutMs: number): Promise<{ status: number; body: string }> {
  return new Promise((resolveGet, reject) => {
    const request = http.get(
      { host: '127.0.0.1', port, path, agent: false, headers: { connection: 'close' }, timeout: timeoutMs },
      (response) => {
        let body = '';
        response.setEncoding('utf8');
        response.on('data', (chunk) => (body += chunk));
        response.on('end', () => resolveGet({ status: response.statusCode ?? 0, body }));
        response.on('error', reject);
      },
    );
    request.on('timeout', () => request.destroy(new Error('timed out')));
    request.on('error', reject);
  });
}

function httpPut(port: number, path: string, body: string, timeoutMs: number): Promise<{ status: number; body: string }> {
  return new Promise((resolvePut, reject) => {
    const request = http.request(
      {
        host: '127.0.0.1',
        port,
        path,
        method: 'PUT',
        agent: false,
        headers: { connection: 'close', 'content-type': 'text/plain', 'content-length': Buffer.byteLength(body) },
        timeout: timeoutMs,
      },
      (response) => {
        let text = '';
        response.setEncoding('utf8');
        response.on('data', (chunk) => (text += chunk));
        response.on('end', () => resolvePut({ status: response.statusCode ?? 0, body: text }));
        response.on('error', reject);
      },
    );
    request.on('timeout', () => request.destroy(new Error('timed out')));
    request.on('error', reject);
    request.end(body);
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

  /** The generation nginx serves, or null while the control server does not answer (starting, reloading, down). */
  async generation(timeoutMs = 500): Promise<number | null> {
    try {
      const { status, body } = await httpGet(this.port, CONTROL_GENERATION_PATH, timeoutMs);
      const text = body.trim();
      return status === 200 && /^\d+$/.test(text) ? Number(text) : null;
    } catch {
      return null;
    }
  }

  /** Hands the Lua balancer a new peer list; true once every worker will serve it, otherwise why not. */
  async putPeers(text: string, timeoutMs = 2000): Promise<true | string> {
    try {
      const { status, body } = await httpPut(this.port, CONTROL_PEERS_PATH, text, timeoutMs);
      return status === 200 ? true : `the control server answered ${status}: ${body.trim()}`;
    } catch (error) {
      return `the control server did not take the peer list: ${(error as Error).message}`;
    }
  }

  /** nginx's stub_status numbers (active connections etc.), or null when it does not answer. */
  async status(timeoutMs = 1000): Promise<Record<string, number> | null> {
    try {
      const { body } = await httpGet(this.port, CONTROL_STATUS_PATH, timeoutMs);
      const numbers = body.match(/\d+/g)?.map(Number) ?? [];
      const [active, accepts, handled, requests, reading, writing, waiting] = numbers;
      return { active, accepts, handled, requests, reading, writing, waiting };
    } catch {
      return null;
    }
  }
}
