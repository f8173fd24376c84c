// GraphQL from tests: one POST, errors turned into thrown Errors, and the reads and writes that many tests share.

export interface GraphQLResult {
  data?: any;
  errors?: { message: string; extensions?: Record<string, unknown> }[];
}

/** Anything that runs an operation and returns the body as is: a TestServer, or a server in its own process. */
export interface GraphQLClient {
  gql(query: string, variables?: Record<string, unknown>): Promise<GraphQLResult>;
}

/** POSTs a GraphQL operation to `url`; returns the body as is (errors included). */
export async function postGraphQL(
  url: string,
  query: string,
  variables: Record<string, unknown> = {},
  headers: Record<string, string> = {},
): Promise<GraphQLResult> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ query, variables }),
  });
  return (await response.json()) as GraphQLResult;
}

/** Runs an operation that must succeed and returns its data; throws with the server's messages otherwise. */
export async function gqlOk<T = any>(client: GraphQLClient, query: string, variables: Record<string, unknown> = {}): Promise<T> {
  const { data, errors } = await client.gql(query, variables);
  if (errors) throw new Error(errors.map((e) => e.message).join('; '));
  return data as T;
}

export const MANAGE = 'mutation($name: String!, $config: String!) { manageEndpoint(name: $name, config: $config) { name } }';
export const SET_STATE = 'mutation($name: String!, $state: EndpointState!) { setEndpointState(name: $name, state: $state) { state } }';
export const SET_OPTION =
  'mutation($name: String!, $section: String!, $key: String!, $value: String!) { setEndpointOption(name: $name, section: $section, key: $key, value: $value) { version } }';

/** Creates or replaces an endpoint from INI text (a new one starts PAUSED). */
export async function manage(client: GraphQLClient, name: string, config: string): Promise<void> {
  await gqlOk(client, MANAGE, { name, config });
}

export async function setState(client: GraphQLClient, name: string, state: 'RUNNING' | 'PAUSED' | 'STOPPED'): Promise<void> {
  await gqlOk(client, SET_STATE, { name, state });
}

export async function manageAndStart(client: GraphQLClient, name: string, config: string): Promise<void> {
  await manage(client, name, config);
  await setState(client, name, 'RUNNING');
}

export async function setOption(client: GraphQLClient, name: string, section: string, key: string, value: string): Promise<void> {
  await gqlOk(client, SET_OPTION, { name, section, key, value });
}

export interface InstanceView {
  id: string;
  status: string;
  address: string | null;
  reason: string | null;
  containerId: string | null;
  slots: number;
  manager: { id: string; name: string } | null;
}

/** The endpoint's instances as the API shows them (none when the endpoint does not exist). */
export async function instancesOf(client: GraphQLClient, endpoint: string): Promise<InstanceView[]> {
  const data = await gqlOk(
    client,
    'query($name: String!) { endpoint(name: $name) { instances { id status address reason containerId slots manager { id name } } } }',
    { name: endpoint },
  );
  return data.endpoint?.instances ?? [];
}

export interface EventView {
  id: string;
  kind: string;
  message: string;
  data: any;
}

/** The recorded events of the endpoint (up to 10,000). */
export async function eventsOf(client: GraphQLClient, endpoint: string): Promise<EventView[]> {
  return (await gqlOk(client, 'query($e: String) { events(endpoint: $e, limit: 1000) { id kind message data } }', { e: endpoint })).events;
}

export interface DecisionView {
  id: string;
  current: number;
  target: number;
  summary: string;
  record: any;
}

/** The stored scaling decisions of the endpoint (up to 10,000). */
export async function decisionsOf(client: GraphQLClient, endpoint: string): Promise<DecisionView[]> {
  const data = await gqlOk(
    client,
    'query($name: String!) { endpoint(name: $name) { decisions(limit: 1000) { id current target summary record } } }',
    { name: endpoint },
  );
  return data.endpoint.decisions;
}
