// Shared helpers of the instance tests: endpoint configs and GraphQL reads of instances and containers.
import { containersWithLabel } from '../support/containers.js';
import { TEST_IMAGE } from '../support/images.js';
import type { TestServer } from '../support/server.js';

export interface ConfOptions {
  image?: string;
  min?: number;
  slots?: number;
  /** More [cloud:docker] lines. */
  docker?: string;
}

/** An endpoint on the test image, without a load balancer (this suite is about containers). */
export function conf(name: string, { image = TEST_IMAGE, min = 1, slots = 1, docker = '' }: ConfOptions = {}): string {
  return `[endpoint]
url=http://${name}.test
loadbalancer=none
port=5000

[scaling]
min_instances=${min}
max_instances=10

[cloud:docker]
image=${image}
slots=${slots}
${docker}
`;
}

export const MANAGE = `mutation($name: String!, $config: String!) { manageEndpoint(name: $name, config: $config) { name } }`;
export const SET_STATE = `mutation($name: String!, $state: EndpointState!) { setEndpointState(name: $name, state: $state) { state } }`;

export interface InstanceView {
  id: string;
  status: string;
  address: string | null;
  reason: string | null;
  containerId: string | null;
  slots: number;
  manager: { id: string; name: string } | null;
}

export async function instancesOf(t: TestServer, endpoint: string): Promise<InstanceView[]> {
  const { data, errors } = await t.gql(
    `query($name: String!) { endpoint(name: $name) { instances { id status address reason containerId slots manager { id name } } } }`,
    { name: endpoint },
  );
  if (errors) throw new Error(errors.map((e) => e.message).join('; '));
  return data.endpoint?.instances ?? [];
}

export async function eventsOf(t: TestServer, endpoint: string): Promise<{ kind: string; message: string; data: any }[]> {
  const { data } = await t.gql(`query($e: String) { events(endpoint: $e, limit: 1000) { kind message data } }`, { e: endpoint });
  return data.events;
}

/** Containers of one endpoint on this server's local manager. */
export async function containersOf(t: TestServer, endpoint: string) {
  return (await containersWithLabel('reactor.manager', t.managerId)).filter((c) => c.Labels['reactor.endpoint'] === endpoint);
}

export async function manageAndStart(t: TestServer, name: string, config: string): Promise<void> {
  const managed = await t.gql(MANAGE, { name, config });
  if (managed.errors) throw new Error(managed.errors.map((e) => e.message).join('; '));
  const started = await t.gql(SET_STATE, { name, state: 'RUNNING' });
  if (started.errors) throw new Error(started.errors.map((e) => e.message).join('; '));
}
