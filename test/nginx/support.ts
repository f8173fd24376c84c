// Test helpers for the balancer tests: backend containers (test/support/containers.ts), and a plain HTTP(S) client.
import http from 'node:http';
import https from 'node:https';
export { freePort } from '../../src/util/ports.js';
import { removeContainersWithLabel, startTestContainer, type TestContainer } from '../support/containers.js';

export const TEST_LABEL = 'reactor.test';

export type TestBackend = TestContainer;

/** Starts `count` test containers (label reactor.test=<label>), published on loopback, answering HTTP. */
export function startBackends(count: number, label: string): Promise<TestBackend[]> {
  return Promise.all(Array.from({ length: count }, () => startTestContainer({ [TEST_LABEL]: label })));
}

export function removeBackends(label: string): Promise<number> {
  return removeContainersWithLabel(TEST_LABEL, label);
}

export interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** One request on a fresh connection (no pooling); https accepts the self-signed certificate. */
export function request(url: string, options: { headers?: Record<string, string>; timeoutMs?: number } = {}): Promise<Answer> {
  const target = new URL(url);
  const client = target.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const req = client.request(
      target,
      {
        method: 'GET',
        headers: { connection: 'close', ...options.headers },
        agent: false,
        insecureHTTPParser: true,
        timeout: options.timeoutMs ?? 3000,
        ...(target.protocol === 'https:' ? { rejectUnauthorized: false } : {}),
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer from ${url} in time`)));
    req.on('error', reject);
    req.end();
  });
}


/** An endpoint configuration for the balancer tests (PAUSED, no managed instances: the backends are static). */
export function endpointConfig(url: string, backends: readonly string[], nginx: Record<string, string> = {}): string {
  const nginxLines = Object.entries(nginx).map(([key, value]) => `${key}=${value}`);
  return [
    '[endpoint]',
    `url=${url}`,
    'cloud=docker',
    'loadbalancer=nginx',
    'port=5000',
    `static_instances=${backends.join(',')}`,
    '',
    '[scaling]',
    'min_instances=0',
    'max_instances=0',
    '',
    '[cloud:docker]',
    'image=reactor-test/httpd:1',
    '',
    '[loadbalancer:nginx]',
    ...nginxLines,
    '',
  ].join('\n');
}
