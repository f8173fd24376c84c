// The server process contract: API keys on HTTP and WebSocket, the loopback rule, restarts and graceful shutdown.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { startServer } from '../../src/server/server.js';
import { SEED_CONFIG } from '../support/configs.js';
import { manage, setOption, setState } from '../support/graphql.js';
import { startTestServer, take } from '../support/server.js';
import { silentLogger } from '../../src/log/logger.js';

describe('API key', () => {
  it('should refuse HTTP requests without the key and accept them with it', async () => {
    const t = await startTestServer({ apiKey: 'sesame' });
    try {
      const missing = await fetch(t.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query: '{ version }' }),
      });
      assert.equal(missing.status, 401);
      const body = (await missing.json()) as { errors: { extensions: { code: string } }[] };
      assert.equal(body.errors[0]!.extensions.code, 'UNAUTHENTICATED');
      const wrong = await t.gql('{ version }', {}, { 'x-auth-key': 'wrong' });
      assert.equal(wrong.errors![0]!.extensions!.code, 'UNAUTHENTICATED');
      const right = await t.gql('{ version }');
      assert.match(right.data.version, /^\d+\.\d+\.\d+/);
    } finally {
      await t.close();
    }
  });

  it('should close a WebSocket with 4403 for a wrong key and serve the right one', async () => {
    const t = await startTestServer({ apiKey: 'sesame' });
    try {
      const closed = new Promise<number>((resolve) => {
        const socket = new WebSocket(t.wsUrl, 'graphql-transport-ws');
        socket.on('open', () => socket.send(JSON.stringify({ type: 'connection_init', payload: { apiKey: 'wrong' } })));
        socket.on('close', (code) => resolve(code));
      });
      assert.equal(await closed, 4403);
      const client = t.ws({ apiKey: 'sesame' });
      const sub = take(client, 'subscription { endpointEvents { kind } }', {}, 1);
      await t.subscribed('endpointEvents');
      await manage(t, 'k', SEED_CONFIG);
      assert.deepEqual(await sub.done, [{ endpointEvents: { kind: 'ENDPOINT_MANAGED' } }]);
    } finally {
      await t.close();
    }
  });

  it('should refuse to listen beyond loopback without a key', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'reactor-test-'));
    try {
      await assert.rejects(startServer({ listen: '0.0.0.0:0', dataDir, agent: false, log: silentLogger }), /without an API key/);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

describe('restart', () => {
  it('should keep every endpoint, its state and its events across a restart', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'reactor-test-'));
    try {
      const first = await startTestServer({ dataDir });
      await manage(first, 'a', SEED_CONFIG);
      await manage(first, 'b', SEED_CONFIG);
      await setState(first, 'b', 'RUNNING');
      await setOption(first, 'a', 'scaling', 'rules', '0 < rate < 1');
      const before = await first.gql('{ endpoints { name state version configText } events { id kind } }');
      await first.close();

      const second = await startTestServer({ dataDir });
      try {
        const afterwards = await second.gql('{ endpoints { name state version configText } events { id kind } }');
        assert.deepEqual(afterwards.data, before.data);
        assert.deepEqual(
          afterwards.data.endpoints.map((e: { name: string; state: string }) => [e.name, e.state]),
          [['a', 'PAUSED'], ['b', 'RUNNING']],
        );
      } finally {
        await second.close();
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

describe('graceful shutdown', () => {
  it('should complete open subscriptions with a going-away close code', async () => {
    const t = await startTestServer();
    const closeCode = new Promise<number>((resolve) => {
      // onNonLazyError would print the expected close event to the console.
      const client = createClient({ url: t.wsUrl, webSocketImpl: WebSocket, retryAttempts: 0, lazy: false, onNonLazyError: () => {} });
      client.on('closed', (event) => resolve((event as { code: number }).code));
      client.subscribe({ query: 'subscription { endpointEvents { id } }' }, { next() {}, error() {}, complete() {} });
    });
    await t.subscribed('endpointEvents');
    await t.close();
    assert.equal(await closeCode, 1001);
  });
});

describe('managers', () => {
  it('should register the local manager and let its slots be changed', async () => {
    const t = await startTestServer({ agent: true, name: 'host-a', slots: 25 });
    try {
      const { data } = await t.gql('{ managers { id name address slots usedSlots clouds loadbalancers problems lastSeen } }');
      assert.equal(data.managers.length, 1);
      const manager = data.managers[0];
      assert.equal(manager.name, 'host-a');
      assert.equal(manager.address, '127.0.0.1');
      assert.equal(manager.slots, 25);
      assert.deepEqual(manager.clouds, ['docker']);
      const changed = await t.gql('mutation($id: ID!) { setManagerOption(id: $id, key: "slots", value: "40") { slots } }', {
        id: manager.id,
      });
      assert.equal(changed.data.setManagerOption.slots, 40);
      const bad = await t.gql('mutation($id: ID!) { setManagerOption(id: $id, key: "slots", value: "-1") { slots } }', {
        id: manager.id,
      });
      assert.equal(bad.errors![0]!.extensions!.code, 'BAD_USER_INPUT');
      assert.match(bad.errors![0]!.message, /slots/);
      const unknown = await t.gql('mutation { setManagerOption(id: "nope", key: "slots", value: "1") { slots } }');
      assert.equal(unknown.errors![0]!.extensions!.code, 'NOT_FOUND');
      const again = await t.gql('{ manager(id: "' + manager.id + '") { slots } }');
      assert.equal(again.data.manager.slots, 40);
    } finally {
      await t.close();
    }
  });
});
