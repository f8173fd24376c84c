// Starts a real Reactor server (Apollo over HTTP + graphql-ws) on a free loopback port for integration tests.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from 'graphql-ws';
import { testWsClient } from './ws.js';
import { startServer, type RunningServer, type ServerOptions } from '../../src/server/server.js';
import { localManagerId } from '../../src/server/services.js';
import { removeContainersWithLabel } from './containers.js';
import { memoryLogger } from '../../src/log/logger.js';
import { postGraphQL, type GraphQLResult } from './graphql.js';
import { waitFor } from './wait.js';

export interface TestServer {
  url: string;
  wsUrl: string;
  dataDir: string;
  /** Id of the local manager (the `reactor.manager` label of its containers). */
  managerId: string;
  server: RunningServer;
  /** What the server logged, one JSON object per line (the fields of src/log/logger.ts), for diagnostics and log tests. */
  logs: Record<string, unknown>[];
  /** POSTs a GraphQL operation; returns the body as is (errors included). */
  gql(query: string, variables?: Record<string, unknown>, headers?: Record<string, string>): Promise<GraphQLResult>;
  /**
   * Resolves once the server has `count` live subscribers on a topic: graphql-ws
   * has no "subscribed" acknowledgement, so tests wait for this before acting.
   */
  subscribed(topic: 'endpointEvents' | 'metricSamples' | 'scalingDecisions' | 'instanceChanges', count?: number): Promise<void>;
  /** A graphql-ws client on this server (closed by close()). */
  ws(connectionParams?: Record<string, unknown>): Client;
  close(): Promise<void>;
}

/**
 * With `agent: true`, close() also removes every container the local manager
 * left (by its label), unless `keepContainers` is set for a restart test.
 */
export async function startTestServer(
  options: Partial<ServerOptions> & { keepDataDir?: boolean; keepContainers?: boolean } = {},
): Promise<TestServer> {
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'reactor-test-'));
  const { log, lines: logs } = memoryLogger();
  const server = await startServer({
    listen: '127.0.0.1:0',
    agent: false,
    balancerAddress: '127.0.0.1',
    log,
    ...options,
    dataDir,
  });
  const clients: Client[] = [];
  const managerId = localManagerId(dataDir);
  return {
    url: server.url,
    wsUrl: server.wsUrl,
    dataDir,
    managerId,
    server,
    logs,
    gql(query, variables = {}, headers = {}) {
      const apiKey: Record<string, string> = options.apiKey ? { 'x-auth-key': options.apiKey } : {};
      return postGraphQL(server.url, query, variables, { ...apiKey, ...headers });
    },
    async subscribed(topic, count = 1) {
      await waitFor(() => server.services.bus.subscriberCount(topic) >= count, { what: `${count} ${topic} subscriber(s)` });
    },
    ws(connectionParams) {
      const client = testWsClient(server.wsUrl, options.apiKey, connectionParams);
      clients.push(client);
      return client;
    },
    async close() {
      await Promise.all(clients.map((client) => client.dispose()));
      await server.close();
      if (options.agent && !options.keepContainers) await removeContainersWithLabel('reactor.manager', managerId);
      if (!options.keepDataDir && !options.dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Collects the next `count` items of a subscription (fails after `timeoutMs`). */
export function take<T = any>(
  client: Client,
  query: string,
  variables: Record<string, unknown>,
  count: number,
  timeoutMs = 10_000,
): { items: T[]; done: Promise<T[]>; stop(): void } {
  const items: T[] = [];
  let stop = () => {};
  const done = new Promise<T[]>((resolve, reject) => {
    const timer = setTimeout(() => {
      stop();
      reject(new Error(`subscription gave ${items.length} of ${count} items in ${timeoutMs} ms`));
    }, timeoutMs);
    const unsubscribe = client.subscribe<T>(
      { query, variables },
      {
        next: (value) => {
          if (value.errors) {
            clearTimeout(timer);
            unsubscribe();
            reject(new Error(value.errors.map((e) => e.message).join('; ')));
            return;
          }
          items.push(value.data as T);
          if (items.length >= count) {
            clearTimeout(timer);
            unsubscribe();
            resolve(items);
          }
        },
        error: (error) => {
          clearTimeout(timer);
          reject(error instanceof Error ? error : new Error(JSON.stringify(error)));
        },
        complete: () => {
          clearTimeout(timer);
          resolve(items);
        },
      },
    );
    stop = unsubscribe;
  });
  return { items, done, stop: () => stop() };
}
