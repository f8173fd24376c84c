// Test helpers for the balancer tests: backend containers started with dockerode, and a plain HTTP(S) client.
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import Docker from 'dockerode';
import { ensureTestImage } from '../support/images.js';
import { removeContainersWithLabel } from '../support/containers.js';
import { waitFor } from '../support/wait.js';

const docker = new Docker();
export const TEST_LABEL = 'reactor.test';

export interface TestBackend {
  /** `127.0.0.1:<published port>` */
  address: string;
  /** What the index page answers: the container's host name. */
  hostname: string;
  containerId: string;
}

/** Starts `count` test containers (label reactor.test=<label>), published on loopback, answering HTTP. */
export async function startBackends(count: number, label: string): Promise<TestBackend[]> {
  const image = ensureTestImage();
  return Promise.all(
    Array.from({ length: count }, async () => {
      const container = await docker.createContainer({
        Image: image,
        Cmd: ['/usr/local/bin/runapp'],
        Env: ['PORT=5000'],
        Labels: { [TEST_LABEL]: label },
        ExposedPorts: { '5000/tcp': {} },
        HostConfig: { PortBindings: { '5000/tcp': [{ HostIp: '127.0.0.1', HostPort: '' }] }, Init: true },
      });
      await container.start();
      const info = await container.inspect();
      const port = info.NetworkSettings.Ports['5000/tcp']?.[0]?.HostPort;
      if (!port) throw new Error('the test container has no published port');
      const address = `127.0.0.1:${port}`;
      const hostname = info.Config.Hostname;
      await waitFor(async () => (await request(`http://${address}/`)).status === 200, { what: `backend ${address}` });
      return { address, hostname, containerId: info.Id };
    }),
  );
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

/** A TCP port free on 127.0.0.1 right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
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
