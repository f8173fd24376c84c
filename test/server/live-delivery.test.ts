// LiveDelivery over real WebSockets: pushed items arrive as graphql-ws text frames in order (an asynchronous execution included), an ended stream says so only after its last frame, and a reader that stops reading is cut with the id to resume after.
import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { ExecutionResult } from 'graphql';
import WebSocket, { WebSocketServer } from 'ws';
import { EventBus } from '../../src/events/bus.js';
import { latestThenLive } from '../../src/events/latest.js';
import { LiveDelivery } from '../../src/server/live-delivery.js';
import { ErrorCodes } from '../../src/errors/codes.js';
import { rejectsWithCode } from '../support/errors.js';
import { waitFor } from '../support/wait.js';

interface Item {
  id: string;
  endpoint: string;
  text?: string;
}
type TestTopics = { items: Item };

/** A server socket and its client, the client recording every frame it receives. */
interface Pair {
  server: WebSocket;
  /** The server's TCP socket under `server`. */
  tcp: Socket;
  client: WebSocket;
  frames: { text: string; binary: boolean }[];
}

describe('LiveDelivery', () => {
  let wss: WebSocketServer;
  /** A server that negotiates compression: frames must then go through ws. */
  let compressing: WebSocketServer;
  const pairs: Pair[] = [];

  before(async () => {
    wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    compressing = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: { threshold: 0 } });
    await Promise.all([wss, compressing].map((server) => new Promise((resolve) => server.once('listening', resolve))));
  });

  after(async () => {
    for (const pair of pairs) {
      pair.client.terminate();
      pair.server.terminate();
    }
    await Promise.all([wss, compressing].map((server) => new Promise((resolve) => server.close(resolve))));
  });

  async function pair(server = wss): Promise<Pair> {
    const accepted = new Promise<[WebSocket, Socket]>((resolve) => server.once('connection', (socket, request) => resolve([socket, request.socket])));
    const { port } = server.address() as { port: number };
    const client = new WebSocket(`ws://127.0.0.1:${port}`);
    const frames: Pair['frames'] = [];
    client.on('message', (data, binary) => frames.push({ text: data.toString(), binary }));
    await new Promise((resolve) => client.once('open', resolve));
    const [socket, tcp] = await accepted;
    const made = { server: socket, tcp, client, frames };
    pairs.push(made);
    return made;
  }

  const shape = (result: ExecutionResult) => result;
  const data = (item: unknown): ExecutionResult => ({ data: { items: item as Record<string, unknown> } });
  const item = (n: number, text?: string): Item => ({ id: `e${n}`, endpoint: 'web', ...(text ? { text } : {}) });

  it("should send graphql-ws's next frames as text, byte for byte, pulled while the latest item is given and pushed after", async () => {
    const bus = new EventBus<TestTopics>();
    const { server, tcp, frames } = await pair();
    const source = latestThenLive(async () => [item(0)], bus.subscribe('items'));
    const stream = new LiveDelivery(shape).stream({ source, resultOf: data, key: null }, { socket: server, tcp, id: 'sub "1"' });

    const first = await stream.next();
    assert.deepEqual(first, { done: false, value: data(item(0)) }, 'the latest item goes through graphql-ws, as a value');
    const ended = stream.next(); // from here on pushed: this next() settles when the stream ends
    bus.publish('items', item(1));
    bus.publish('items', item(2));
    await waitFor(() => frames.length === 2, { what: 'two pushed frames' });
    assert.deepEqual(
      frames.map((frame) => frame.text),
      [1, 2].map((n) => JSON.stringify({ id: 'sub "1"', type: 'next', payload: data(item(n)) })),
      'what graphql-ws would have sent',
    );
    assert.ok(frames.every((frame) => !frame.binary), 'text frames');
    await stream.return!();
    assert.deepEqual(await ended, { done: true, value: undefined });
    assert.equal(bus.subscriberCount('items'), 0);
  });

  it('should keep the order behind an execution that answers later, and say the stream ended only after its last frame', async () => {
    const bus = new EventBus<TestTopics>();
    const { server, tcp, frames } = await pair();
    let answer!: () => void;
    const late = new Promise<void>((resolve) => (answer = resolve));
    // e1's selection has an asynchronous resolver; e2's answers at once.
    const resultOf = (value: unknown) => ((value as Item).id === 'e1' ? late.then(() => data(value)) : data(value));
    const source = bus.subscribe('items');
    const stream = new LiveDelivery(shape).stream({ source, resultOf, key: null }, { socket: server, tcp, id: 'a' });
    const ended = stream.next();
    bus.publish('items', item(1));
    bus.publish('items', item(2));
    let settled = false;
    void ended.then(() => (settled = true));
    await source.return!(); // the source ends with two deliveries still to make
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(frames.length, 0, 'e2 waits behind e1');
    assert.equal(settled, false, 'not ended before its frames are written');
    answer();
    assert.deepEqual(await ended, { done: true, value: undefined });
    await waitFor(() => frames.length === 2, { what: 'both frames' });
    assert.deepEqual(frames.map((frame) => JSON.parse(frame.text).payload.data.items.id), ['e1', 'e2']);
  });

  it('should cut a subscription whose reader stopped reading, naming the last item written, which is the last its reader gets', async () => {
    const bus = new EventBus<TestTopics>();
    const { server, tcp, client, frames } = await pair();
    const source = bus.subscribe('items');
    const limit = 64 * 1024;
    const stream = new LiveDelivery(shape, { maxWaitingBytes: limit }).stream({ source, resultOf: data, key: null }, { socket: server, tcp, id: 'slow' });
    const cut = stream.next();
    cut.catch(() => undefined); // awaited below, once the loop is done
    // The client stops reading: the kernel's buffers fill, then the server's.
    (client as unknown as { _socket: { pause(): void } })._socket.pause();
    const text = 'x'.repeat(16 * 1024);
    let n = 0;
    while (bus.subscriberCount('items') > 0 && n < 10_000) {
      bus.publish('items', item(++n, text));
      if (n % 64 === 0) await new Promise((resolve) => setImmediate(resolve));
    }
    const error = await rejectsWithCode(cut, ErrorCodes.UNAVAILABLE);
    assert.equal(error.details.reason, 'SLOW_CONSUMER');
    assert.ok(server.bufferedAmount > limit, 'cut once more than the limit waited');
    const lastId = error.details.lastDeliveredId as string;
    assert.match(error.message, new RegExp(`more than ${limit} bytes waiting to be sent; reconnect with afterId "${lastId}" to resume`));
    assert.ok(Number(lastId.slice(1)) < n, 'items after it were not written');

    (client as unknown as { _socket: { resume(): void } })._socket.resume();
    await waitFor(() => frames.length > 0 && JSON.parse(frames.at(-1)!.text).payload.data.items.id === lastId, {
      what: `the frames up to ${lastId}`,
      timeoutMs: 20_000,
    });
    const ids = frames.map((frame) => Number(JSON.parse(frame.text).payload.data.items.id.slice(1)));
    assert.deepEqual(ids, Array.from({ length: ids.length }, (_, i) => i + 1), 'every item up to the cut, in order, none after');
  });

  it("should frame messages of every length class, and keep the order with ws's own sends between them", async () => {
    const bus = new EventBus<TestTopics>();
    const { server, tcp, frames } = await pair();
    const source = bus.subscribe('items');
    const stream = new LiveDelivery(shape).stream({ source, resultOf: data, key: null }, { socket: server, tcp, id: 'x' });
    void stream.next();
    // Message lengths around the 7-bit, 16-bit and 64-bit length forms of RFC 6455 5.2.
    const base = JSON.stringify({ id: 'x', type: 'next', payload: data(item(0, 'y')) }).length - 1;
    const lengths = [125, 126, 65535, 65536, 70000].map((length) => length - base);
    for (const [n, padding] of lengths.entries()) {
      bus.publish('items', item(n, 'y'.repeat(padding)));
      await waitFor(() => frames.length === 2 * n + 1, { what: `frame ${n}` });
      server.send(`between ${n}`); // graphql-ws's own send, through ws
      await waitFor(() => frames.length === 2 * n + 2, { what: `ws frame ${n}` });
    }
    assert.deepEqual(
      frames.map((frame) => frame.text.length),
      [125, 126, 65535, 65536, 70000].flatMap((length, n) => [length, `between ${n}`.length]),
    );
    assert.deepEqual(
      frames.filter((_, i) => i % 2 === 0).map((frame) => JSON.parse(frame.text).payload.data.items.id),
      ['e0', 'e1', 'e2', 'e3', 'e4'],
    );
    await stream.return!();
  });

  it('should go through ws when the connection negotiated compression', async () => {
    const bus = new EventBus<TestTopics>();
    const { server, tcp, frames } = await pair(compressing);
    assert.equal(server.extensions, 'permessage-deflate');
    const source = bus.subscribe('items');
    const stream = new LiveDelivery(shape).stream({ source, resultOf: data, key: null }, { socket: server, tcp, id: 'z' });
    void stream.next();
    for (let n = 1; n <= 3; n++) bus.publish('items', item(n, 'compressible '.repeat(50)));
    await waitFor(() => frames.length === 3, { what: 'three frames' });
    assert.deepEqual(
      frames.map((frame) => JSON.parse(frame.text).payload.data.items.id),
      ['e1', 'e2', 'e3'],
    );
    assert.ok(frames.every((frame) => !frame.binary));
    await stream.return!();
  });

  it('should end only the subscription whose delivery throws, with that error, and keep delivering to the others', async () => {
    const bus = new EventBus<TestTopics>();
    const { server, tcp, frames } = await pair();
    const failing = (value: unknown): ExecutionResult => {
      if ((value as Item).id === 'e2') throw new Error('shaping failed');
      return data(value);
    };
    const delivery = new LiveDelivery(shape);
    const bad = delivery.stream({ source: bus.subscribe('items'), resultOf: failing, key: null }, { socket: server, tcp, id: 'bad' });
    const good = delivery.stream({ source: bus.subscribe('items'), resultOf: data, key: null }, { socket: server, tcp, id: 'good' });
    const badEnd = bad.next();
    badEnd.catch(() => undefined);
    void good.next();
    for (let n = 1; n <= 3; n++) bus.publish('items', item(n));
    await assert.rejects(badEnd, /shaping failed/);
    await waitFor(() => frames.filter((frame) => JSON.parse(frame.text).id === 'good').length === 3, { what: "the good subscription's three frames" });
    assert.deepEqual(
      frames.map((frame) => `${JSON.parse(frame.text).id}:${JSON.parse(frame.text).payload.data.items.id}`),
      ['bad:e1', 'good:e1', 'good:e2', 'good:e3'],
    );
    assert.equal(bus.subscriberCount('items'), 1, 'the failed one left the bus');
    await good.return!();
  });

  it('should cut a subscription with more items waiting for their turn than its capacity, naming the last item it was given', async () => {
    const bus = new EventBus<TestTopics>();
    const { server, tcp, frames } = await pair();
    const source = latestThenLive(async () => [item(0)], bus.subscribe('items'));
    const stream = new LiveDelivery(shape, { capacity: 5 }).stream({ source, resultOf: data, key: null }, { socket: server, tcp, id: 'c' });
    assert.equal((await stream.next()).done, false, 'the latest item, through graphql-ws');
    const cut = stream.next();
    cut.catch(() => undefined);
    // Published in one go: none is written before the sixth arrives.
    for (let n = 1; n <= 6; n++) bus.publish('items', item(n));
    const error = await rejectsWithCode(cut, ErrorCodes.UNAVAILABLE);
    assert.equal(error.message, 'subscriber too slow: more than 5 items queued; reconnect with afterId "e0" to resume');
    assert.equal(bus.subscriberCount('items'), 0);
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(frames.length, 0, 'nothing written after the cut');
  });

  it("should go through ws while ws has a message of its own waiting to be sent, and to TCP once it has none (a pure unit test: stubs count the calls)", async () => {
    const bus = new EventBus<TestTopics>();
    // ws holds a message in its sender only while it reads a Blob or compresses: too brief to catch on a real socket.
    const calls: string[] = [];
    const tcp = { writableLength: 0, write: () => calls.push('tcp') };
    const socket = { readyState: 1, OPEN: 1, extensions: '', bufferedAmount: 40, send: () => calls.push('ws') };
    const stream = new LiveDelivery(shape).stream(
      { source: bus.subscribe('items'), resultOf: data, key: null },
      { socket: socket as unknown as WebSocket, tcp: tcp as unknown as Socket, id: 's' },
    );
    void stream.next();
    bus.publish('items', item(1)); // 40 bytes in ws's sender, none in the socket: through ws, behind them
    await waitFor(() => calls.length === 1, { what: 'the first delivery' });
    socket.bufferedAmount = 7;
    tcp.writableLength = 7; // all of it in the socket, in order: straight to TCP
    bus.publish('items', item(2));
    await waitFor(() => calls.length === 2, { what: 'the second delivery' });
    assert.deepEqual(calls, ['ws', 'tcp']);
    await stream.return!();
  });
});
