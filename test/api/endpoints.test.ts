// The endpoint contract over real HTTP and WebSocket: manage, read, change state and options, events, bad input.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { SEED_CONFIG } from '../support/configs.js';
import { startTestServer, take, type TestServer } from '../support/server.js';

const MANAGE = `mutation($name: String!, $config: String!) {
  manageEndpoint(name: $name, config: $config) { name state version configText config { endpoint { url port } scaling { minInstances maxInstances rules } docker { image command } } }
}`;

describe('endpoints over GraphQL', () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer();
  });
  after(async () => {
    await t.close();
  });

  it('should manage a new endpoint as PAUSED with a typed config', async () => {
    const { data, errors } = await t.gql(MANAGE, { name: 'pyex', config: SEED_CONFIG });
    assert.equal(errors, undefined);
    assert.equal(data.manageEndpoint.state, 'PAUSED');
    assert.equal(data.manageEndpoint.version, 1);
    assert.deepEqual(data.manageEndpoint.config.endpoint, { url: 'http://', port: 5000 });
    assert.deepEqual(data.manageEndpoint.config.scaling, { minInstances: 1, maxInstances: 5, rules: '' });
    assert.equal(data.manageEndpoint.config.docker.image, 'reactor-test/httpd:1');
    assert.match(data.manageEndpoint.configText, /^\[endpoint\]/);
  });

  it('should list and fetch the endpoint by name', async () => {
    const { data } = await t.gql('{ endpoints { name state } endpoint(name: "pyex") { name configText } }');
    assert.deepEqual(data.endpoints, [{ name: 'pyex', state: 'PAUSED' }]);
    assert.equal(data.endpoint.name, 'pyex');
  });

  it('should return null for an unknown endpoint', async () => {
    const { data, errors } = await t.gql('{ endpoint(name: "nope") { name } }');
    assert.equal(errors, undefined);
    assert.equal(data.endpoint, null);
  });

  it('should set the scaling rules and read them back bare', async () => {
    const { data, errors } = await t.gql(
      `mutation { setEndpointOption(name: "pyex", section: "scaling", key: "rules", value: "0 < rate < 1") {
        version config { scaling { rules } } } }`,
    );
    assert.equal(errors, undefined);
    assert.equal(data.setEndpointOption.config.scaling.rules, '0 < rate < 1');
    assert.equal(data.setEndpointOption.version, 2);
  });

  it('should change state and record every change as an event', async () => {
    const started = await t.gql('mutation { setEndpointState(name: "pyex", state: RUNNING) { state } }');
    assert.equal(started.data.setEndpointState.state, 'RUNNING');
    const { data } = await t.gql('{ endpoint(name: "pyex") { events { kind message data } } }');
    assert.deepEqual(
      data.endpoint.events.map((e: { kind: string }) => e.kind),
      ['ENDPOINT_MANAGED', 'CONFIG_CHANGED', 'STATE_CHANGED'],
    );
    assert.deepEqual(data.endpoint.events[2].data.from, 'PAUSED');
    assert.deepEqual(data.endpoint.events[2].data.to, 'RUNNING');
  });

  it('should replace the configuration and keep the state', async () => {
    const replaced = SEED_CONFIG.replace('max_instances=5', 'max_instances=7');
    const { data } = await t.gql(MANAGE, { name: 'pyex', config: replaced });
    assert.equal(data.manageEndpoint.state, 'RUNNING');
    assert.equal(data.manageEndpoint.config.scaling.maxInstances, 7);
  });

  it('should stream endpoint events over graphql-ws', async () => {
    const client = t.ws();
    const sub = take(client, 'subscription($e: String) { endpointEvents(endpoint: $e) { id endpoint kind at } }', { e: 'pyex' }, 2);
    await t.subscribed('endpointEvents');
    await t.gql('mutation { setEndpointState(name: "pyex", state: PAUSED) { state } }');
    await t.gql('mutation { setEndpointOption(name: "pyex", section: "scaling", key: "max_instances", value: "3") { version } }');
    const items = await sub.done;
    assert.deepEqual(items.map((i) => i.endpointEvents.kind), ['STATE_CHANGED', 'CONFIG_CHANGED']);
    assert.ok(items.every((i) => i.endpointEvents.endpoint === 'pyex'));
  });

  it('should replay missed events after the id a subscriber last saw', async () => {
    const { data } = await t.gql('{ endpoint(name: "pyex") { events { id kind } } }');
    const events = data.endpoint.events as { id: string; kind: string }[];
    const resumeFrom = events[events.length - 3]!;
    const client = t.ws();
    const sub = take(client, 'subscription($a: ID) { endpointEvents(endpoint: "pyex", afterId: $a) { id kind } }', { a: resumeFrom.id }, 3);
    await t.subscribed('endpointEvents');
    await t.gql('mutation { setEndpointState(name: "pyex", state: STOPPED) { state } }');
    const items = await sub.done;
    assert.deepEqual(
      items.map((i) => i.endpointEvents.id),
      [...events.slice(-2).map((e) => e.id), items[2].endpointEvents.id],
    );
    assert.equal(items[2].endpointEvents.kind, 'STATE_CHANGED');
  });

  it('should unmanage the endpoint and say so', async () => {
    const { data } = await t.gql('mutation { unmanageEndpoint(name: "pyex") }');
    assert.equal(data.unmanageEndpoint, true);
    const again = await t.gql('mutation { unmanageEndpoint(name: "pyex") }');
    assert.equal(again.data.unmanageEndpoint, false);
    const events = await t.gql('{ events(endpoint: "pyex") { kind } }');
    assert.equal(events.data.events.at(-1).kind, 'ENDPOINT_UNMANAGED');
  });
});

describe('bad input changes nothing', () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer();
    await t.gql(MANAGE, { name: 'web', config: SEED_CONFIG });
  });
  after(async () => {
    await t.close();
  });

  const cases: { name: string; query: string; variables?: Record<string, unknown>; code: string; message: RegExp }[] = [
    {
      name: 'malformed INI',
      query: MANAGE,
      variables: { name: 'web', config: '[endpoint\nurl=http://' },
      code: 'BAD_USER_INPUT',
      message: /line 1/,
    },
    {
      name: 'unknown section',
      query: MANAGE,
      variables: { name: 'web', config: SEED_CONFIG + '\n[bogus]\nx=1\n' },
      code: 'BAD_USER_INPUT',
      message: /bogus/,
    },
    {
      name: 'unknown key',
      query: MANAGE,
      variables: { name: 'web', config: SEED_CONFIG.replace('port=5000', 'port=5000\ncolour=blue') },
      code: 'BAD_USER_INPUT',
      message: /colour/,
    },
    {
      name: 'non-numeric number',
      query: MANAGE,
      variables: { name: 'web', config: SEED_CONFIG.replace('port=5000', 'port=five') },
      code: 'BAD_USER_INPUT',
      message: /port/,
    },
    {
      name: 'min above max',
      query: MANAGE,
      variables: { name: 'web', config: SEED_CONFIG.replace('min_instances=1', 'min_instances=9') },
      code: 'BAD_USER_INPUT',
      message: /min_instances/,
    },
    {
      name: 'invalid rule in a config',
      query: MANAGE,
      variables: { name: 'web', config: SEED_CONFIG.replace('max_instances=5', 'max_instances=5\nrules=rate == 4') },
      code: 'BAD_USER_INPUT',
      message: /rate == 4/,
    },
    {
      name: 'invalid rule through setEndpointOption',
      query: 'mutation { setEndpointOption(name: "web", section: "scaling", key: "rules", value: "0 < < rate") { version } }',
      code: 'BAD_USER_INPUT',
      message: /0 < < rate/,
    },
    {
      name: 'bad endpoint name',
      query: MANAGE,
      variables: { name: 'no spaces please', config: SEED_CONFIG },
      code: 'BAD_USER_INPUT',
      message: /endpoint name/,
    },
    {
      name: 'unknown endpoint',
      query: 'mutation { setEndpointState(name: "ghost", state: RUNNING) { state } }',
      code: 'NOT_FOUND',
      message: /ghost/,
    },
    {
      name: 'unknown endpoint option',
      query: 'mutation { setEndpointOption(name: "ghost", section: "scaling", key: "rules", value: "rate < 1") { version } }',
      code: 'NOT_FOUND',
      message: /ghost/,
    },
    {
      name: 'malformed GraphQL',
      query: '{ endpoints { name ',
      code: 'GRAPHQL_PARSE_FAILED',
      message: /Syntax Error/,
    },
    {
      name: 'unknown field',
      query: '{ endpoints { colour } }',
      code: 'GRAPHQL_VALIDATION_FAILED',
      message: /colour/,
    },
    {
      name: 'bad enum value',
      query: 'mutation { setEndpointState(name: "web", state: DANCING) { state } }',
      code: 'GRAPHQL_VALIDATION_FAILED',
      message: /DANCING/,
    },
  ];

  for (const c of cases) {
    it(`should refuse ${c.name} with ${c.code}`, async () => {
      const before = await t.gql('{ endpoints { name state version configText } events { id } }');
      const { errors } = await t.gql(c.query, c.variables);
      assert.ok(errors?.length, 'an error is returned');
      assert.equal(errors[0]!.extensions?.code, c.code);
      assert.match(errors[0]!.message, c.message);
      assert.equal(errors[0]!.extensions?.stacktrace, undefined, 'no stack trace without --debug');
      const afterwards = await t.gql('{ endpoints { name state version configText } events { id } }');
      assert.deepEqual(afterwards.data, before.data, 'nothing changed');
    });
  }

  it('should refuse an oversized body with BAD_USER_INPUT', async () => {
    const response = await fetch(t.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: MANAGE, variables: { name: 'big', config: 'x'.repeat(2 * 1024 * 1024) } }),
    });
    assert.equal(response.status, 413);
    const body = (await response.json()) as { errors: { message: string; extensions: { code: string } }[] };
    assert.equal(body.errors[0]!.extensions.code, 'BAD_USER_INPUT');
    assert.match(body.errors[0]!.message, /larger than/);
    const { data } = await t.gql('{ endpoint(name: "big") { name } }');
    assert.equal(data.endpoint, null);
  });

  it('should refuse a subscription sent over HTTP and point at the WebSocket', async () => {
    const { errors } = await t.gql('subscription { endpointEvents { id } }');
    assert.match(errors![0]!.message, /WebSocket/);
    assert.equal(errors![0]!.extensions?.code, 'BAD_REQUEST');
  });

  it('should refuse a simple GET request that could be a CSRF attempt', async () => {
    const response = await fetch(`${t.url}?query=${encodeURIComponent('{ version }')}`, {
      headers: { accept: 'application/json' },
    });
    assert.equal(response.status, 400);
    assert.match(await response.text(), /CSRF/i);
  });
});
