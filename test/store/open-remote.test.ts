// Opening a MongoDB store far away: a first handshake slower than the operations' 300 ms selection timeout still connects, and once open a store that goes away is still refused within a second.
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { ErrorCodes } from '../../src/errors/codes.js';
import { MONGO_SERVER_SELECTION_TIMEOUT_MS, openStore } from '../../src/store/open.js';
import { rejectsWithCode } from '../support/errors.js';
import { startFerretDB, type RunningFerretDB } from '../support/ferretdb.js';

/** One way; a round trip (a `hello`) takes twice this, more than the operations' selection timeout. */
const ONE_WAY_MS = 200;

/** A TCP relay to `port` that holds every chunk `delayMs` each way, as a link to a remote store does. */
async function slowLink(port: number, delayMs: number): Promise<{ url: string; cut(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const relay = (from: net.Socket, to: net.Socket) => {
    from.on('data', (chunk) => setTimeout(() => to.destroyed || to.write(chunk), delayMs));
    from.on('close', () => setTimeout(() => to.destroy(), delayMs));
    from.on('error', () => to.destroy());
  };
  const server = net.createServer((client) => {
    const upstream = net.connect(port, '127.0.0.1');
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
    }
    relay(client, upstream);
    relay(upstream, client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address() as net.AddressInfo;
  return {
    url: `mongodb://127.0.0.1:${address.port}/`,
    cut: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      await closed;
    },
  };
}

describe('openStore over a slow link', () => {
  let ferret: RunningFerretDB;
  let link: Awaited<ReturnType<typeof slowLink>>;
  before(async () => {
    ferret = await startFerretDB();
    link = await slowLink(Number(new URL(ferret.url).port), ONE_WAY_MS);
  });
  after(async () => {
    await link?.cut();
    await ferret?.stop();
  });

  it('should connect although the first handshake takes longer than the selection timeout of operations, and still refuse calls fast once the store goes', async () => {
    assert.ok(2 * ONE_WAY_MS > MONGO_SERVER_SELECTION_TIMEOUT_MS, 'the link is slower than an operation may wait for a server');
    const started = performance.now();
    const store = await openStore(`${link.url}reactor_remote`);
    try {
      assert.ok(performance.now() - started > MONGO_SERVER_SELECTION_TIMEOUT_MS, 'the handshake did take longer than 300 ms');
      await store.endpoints.create({ name: 'web', state: 'PAUSED', configText: '[endpoint]\nport=5000\n[cloud:docker]\nimage=x\n' });
      assert.deepEqual((await store.endpoints.list()).map((e) => e.name), ['web']);

      await link.cut();
      const refused = performance.now();
      await rejectsWithCode(store.endpoints.list(), ErrorCodes.STORE_UNAVAILABLE);
      const ms = performance.now() - refused;
      assert.ok(ms < 1000, `a call on a store that went away was refused after ${ms.toFixed(0)} ms`);
    } finally {
      await store.close();
    }
  });
});
