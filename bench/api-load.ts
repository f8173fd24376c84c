// What the API benchmarks share: autocannon in a process of its own, a bare Apollo Server 5 with the same data as the baseline, and the data set.
import { execFile } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { ApolloServer } from '@apollo/server';
import { expressMiddleware } from '@as-integrations/express5';
import express from 'express';
import { InstanceEventKinds } from '../src/model/events.js';
import type { RunningServer } from '../src/server/server.js';

const AUTOCANNON = fileURLToPath(new URL('../node_modules/autocannon/autocannon.js', import.meta.url));
const PACED = fileURLToPath(new URL('./paced.mjs', import.meta.url));

export interface LoadFigures {
  /** Requests per second, mean over the run. */
  rps: number;
  p50: number;
  p99: number;
  /** Requests that failed or answered other than 2xx. */
  errors: number;
  total: number;
}

/**
 * autocannon (a well-kept HTTP load generator, rather than our own loop) as a
 * child process, so its event loop never shares a core's time slices with
 * the server's in the same thread. `rate` paces all connections together.
 */
export function autocannon(
  url: string,
  body: string,
  options: { connections: number; seconds: number; rate?: number; /** Replace [<id>] in the body with a new id per request. */ ids?: boolean },
): Promise<LoadFigures> {
  const args = [AUTOCANNON, '-j', '-c', String(options.connections), '-d', String(options.seconds), '-m', 'POST', '-H', 'content-type=application/json', '-b', body];
  if (options.rate) args.push('-R', String(options.rate));
  if (options.ids) args.push('-I');
  args.push(url);
  return new Promise((resolve, reject) => {
    execFile(process.execPath, args, { maxBuffer: 16 * 1024 * 1024 }, (error, stdout) => {
      if (error) return reject(error);
      const out = JSON.parse(stdout) as {
        requests: { average: number; total: number };
        latency: { p50: number; p99: number };
        errors: number;
        non2xx: number;
        timeouts: number;
      };
      resolve({
        rps: out.requests.average,
        p50: out.latency.p50,
        p99: out.latency.p99,
        errors: out.errors + out.non2xx + out.timeouts,
        total: out.requests.total,
      });
    });
  });
}

/**
 * Requests at a fixed rate, evenly spaced, from a process of its own
 * (bench/paced.mjs); latency counts from when each request was due.
 * `ids`: each [<id>] in the body becomes a new id per request.
 */
export function paced(url: string, body: string, options: { rate: number; seconds: number; ids?: boolean }): Promise<LoadFigures> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [PACED, url, body, String(options.rate), String(options.seconds), options.ids ? '1' : '0'], (error, stdout) =>
      error ? reject(error) : resolve(JSON.parse(stdout) as LoadFigures),
    );
  });
}

/** A GraphQL POST body. */
export function operation(query: string, variables: Record<string, unknown> = {}): string {
  return JSON.stringify({ query, variables });
}

export const ENDPOINTS_QUERY = '{ endpoints { name state } }';
export const ENDPOINT_QUERY = 'query One($name: String!) { endpoint(name: $name) { name state instances { id address status slots } } }';

export interface ReadData {
  endpoints: { name: string; state: string; instances: { id: string; address: string | null; status: string; slots: number }[] }[];
}

/**
 * Fills a running Reactor (no agent) with `count` endpoints of `instances`
 * instance records each, written through the services as the controller
 * would, and returns the same data as plain values for the baseline.
 */
export async function seedEndpoints(server: RunningServer, count: number, instances: number): Promise<ReadData> {
  const { services } = server;
  for (let n = 0; n < count; n++) {
    const name = `svc${n}`;
    await services.endpoints.manage(name, '[endpoint]\nport=5000\n[cloud:docker]\nimage=bench/none:1\n');
    for (let i = 0; i < instances; i++) {
      await services.instances.create(
        { endpoint: name, slots: 1, status: 'PENDING', managerId: null, reason: 'bench: no manager' },
        InstanceEventKinds.INSTANCE_CREATED,
        `bench instance ${i} of ${name}`,
      );
    }
  }
  const endpoints = await services.endpoints.list();
  return {
    endpoints: await Promise.all(
      endpoints.map(async (e) => ({
        name: e.name,
        state: e.state,
        instances: (await services.instances.list({ endpoint: e.name })).map((i) => ({ id: i.id, address: i.address, status: i.status, slots: i.slots })),
      })),
    ),
  };
}

/**
 * The baseline: Apollo Server 5 on Express 5 (the same integration Reactor
 * uses, with express.json), a schema of just the fields read, and resolvers
 * that return `data` from memory. No guard, no auth, no limits, no store.
 */
export async function startBareApollo(data: ReadData): Promise<{ url: string; close(): Promise<void> }> {
  const typeDefs = `
    type Instance { id: ID! address: String status: String! slots: Int! }
    type Endpoint { name: String! state: String! instances: [Instance!]! }
    type Query { endpoints: [Endpoint!]! endpoint(name: String!): Endpoint }
  `;
  const byName = new Map(data.endpoints.map((e) => [e.name, e]));
  const apollo = new ApolloServer({
    typeDefs,
    resolvers: { Query: { endpoints: () => data.endpoints, endpoint: (_: unknown, { name }: { name: string }) => byName.get(name) ?? null } },
  });
  await apollo.start();
  const app = express();
  app.use('/graphql', express.json(), expressMiddleware(apollo));
  const http: Server = createServer(app);
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const { port } = http.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/graphql`,
    close: async () => {
      await apollo.stop();
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}
