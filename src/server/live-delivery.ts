// Live subscription items written straight to their sockets: one serialization per result, one write per socket, no promise per item.
import type { Socket } from 'node:net';
import type { ExecutionResult } from 'graphql';
import type WebSocket from 'ws';
import { DEFAULT_SUBSCRIBER_BUFFER, slowConsumer } from '../events/bus.js';
import { pushTo, type Sink } from '../events/push.js';
import { executionCounts, type Subscribed } from './fan-out.js';

/**
 * Why: with graphql-ws pulling, each item reached each socket through a
 * chain of about ten promises (the bus's wake, the wrappers' awaits,
 * graphql-ws's for-await, its awaited `onNext` and its awaited send), a
 * fresh copy of the result and a JSON.stringify of it per socket. Profiled
 * at 10,000 sockets over 100 endpoints: 57 µs of server CPU per delivery,
 * of which the kernel's write took a half; the rest was that chain and the
 * garbage it left. The last socket got its sample 600 ms after the first.
 *
 * Now, once a subscription's stream is live (src/events/push.ts), the bus
 * calls this module's sink for each item; the sink only queues. Queued
 * deliveries are written a batch per turn of the event loop (HTTP requests
 * are served between batches): the item's result is shared by every
 * subscriber of the same operation (src/server/fan-out.ts), serialized once,
 * and each socket gets the frame graphql-ws would have sent, byte for byte:
 * `{"id":…,"type":"next","payload":…}`.
 *
 * The frame is written to the connection's TCP socket in one write, WebSocket
 * header included (RFC 6455 5.2: FIN, text, unmasked from a server), when ws
 * has nothing of its own waiting to go out before it (no extension
 * negotiated, nothing queued in its sender): ws's own send costs two writes
 * corked into one writev, an options object and a frame object per message,
 * about 5 µs of the 23 a delivery costs (the kernel's write is 12.5 µs of
 * them). Otherwise it goes through ws's send, in order.
 *
 * graphql-ws still runs everything else: the handshake, subscribe and its
 * checks, `complete` from either side, errors. It sees an iterator whose one
 * `next()` settles when the stream ends: done (it sends `complete`), or
 * failed (it sends the error). Items a stream gives before it is live (the
 * latest item, a replayed history) go through graphql-ws as before.
 *
 * A reader that does not keep up: when more than `maxWaitingBytes` wait in
 * its socket, or more than `capacity` items wait for their turn here (the
 * bus's bound for a pulled subscriber, 1,000), the subscription ends with the
 * bus's SLOW_CONSUMER error naming the last item given, as the bus ends a
 * pulled one whose queue is full; the client resumes with afterId.
 *
 * A delivery that throws (a shaping or serialization failure) ends its own
 * subscription with that error; it never stops the others' deliveries.
 */

/** Deliveries written per turn of the event loop. */
const BATCH = 256;

/** Bytes waiting in a socket beyond which its pushed subscriptions are ended as too slow (1,000 samples are about 250 KB). */
export const MAX_WAITING_BYTES = 1024 * 1024;

/** Entries already written that are dropped from the front of the queue at once, rather than when it empties. */
const COMPACT_AFTER = 8 * 1024;

export interface LiveDeliveryOptions {
  /** Bytes waiting in a socket beyond which its subscriptions are cut (default MAX_WAITING_BYTES). */
  maxWaitingBytes?: number;
  /** Items waiting for their turn beyond which a subscription is cut (default the bus's, 1,000). */
  capacity?: number;
}

export interface PushTarget {
  socket: WebSocket;
  /** The connection's TCP socket under `socket` (the upgrade request's). */
  tcp: Socket;
  /** The subscription's id on that socket. */
  id: string;
}

type Outcome = { error?: unknown };

/**
 * One pushed subscription: the iterator graphql-ws runs (pulled until its
 * stream is live, then one `next()` that settles when it ends) and the sink
 * its stream pushes to. A class, so that 10,000 of them share one shape and
 * their methods, not 10,000 sets of closures.
 */
class PushedStream implements AsyncIterableIterator<ExecutionResult>, Sink<unknown> {
  /** Deliveries queued or waiting for an execution. */
  queued = 0;
  /** The end of the previous delivery that waits for an asynchronous execution: later ones keep their order behind it. */
  waiting: Promise<void> | undefined = undefined;
  /** The id of the last item written. */
  lastId: string | undefined = undefined;
  /** Written no more: returned, ended, or cut. */
  stopped = false;
  /** The stream ended (with its failure, if any): said once what was queued is written. */
  ended: Outcome | undefined = undefined;
  /** How it ended, kept until graphql-ws asks. */
  outcome: Outcome | undefined = undefined;
  /** Settles graphql-ws's pending `next()`; undefined until it asks. */
  private settle: ((outcome: Outcome) => void) | undefined = undefined;
  /** What that `next()` waits for (a second call waits for the same). */
  private ending: Promise<Outcome> | undefined = undefined;
  private pushing = false;
  /** No extension negotiated (ws settles them at the handshake, before any subscription). */
  readonly plain: boolean;

  constructor(
    private readonly delivery: LiveDelivery,
    readonly source: AsyncIterator<unknown>,
    readonly resultOf: Subscribed['resultOf'],
    readonly key: string | null,
    readonly socket: WebSocket,
    readonly tcp: Socket,
    /** `{"id":…,"type":"next","payload":` in UTF-8: how this subscription's frames start. */
    readonly head: Buffer,
  ) {
    this.plain = socket.extensions === '';
  }

  async next(): Promise<IteratorResult<ExecutionResult>> {
    if (!this.pushing && !(this.pushing = pushTo(this.source, this))) {
      const step = await this.source.next();
      if (step.done) return step;
      // Given through graphql-ws: where a resume starts if the stream is cut before its first pushed item.
      this.lastId = (step.value as { id?: string } | null)?.id ?? this.lastId;
      return { done: false, value: await this.resultOf(step.value) };
    }
    this.ending ??= new Promise<Outcome>((resolve) => (this.settle = resolve));
    const outcome = this.outcome ?? (await this.ending);
    if (outcome.error !== undefined) throw outcome.error;
    return { done: true, value: undefined };
  }

  async return(): Promise<IteratorResult<ExecutionResult>> {
    this.stopped = true;
    try {
      await this.source.return?.();
    } finally {
      this.finish({});
    }
    return { done: true, value: undefined };
  }

  async throw(error?: unknown): Promise<IteratorResult<ExecutionResult>> {
    await this.return();
    throw error;
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  item(value: unknown): void {
    if (this.stopped) return;
    if (this.queued >= this.delivery.capacity) {
      this.cut(slowConsumer(`more than ${this.delivery.capacity} items queued`, this.lastId));
      return;
    }
    this.queued += 1;
    this.delivery.enqueue(this, value);
  }

  end(error?: unknown): void {
    if (this.ended) return;
    this.ended = { error };
    if (this.queued === 0) this.finish(this.ended);
  }

  /** One delivery fewer queued; once none is, an ended stream says so. */
  done(): void {
    this.queued -= 1;
    if (this.queued === 0 && this.ended) this.finish(this.ended);
  }

  /** Ends it with an error graphql-ws sends to its client. */
  cut(error: unknown): void {
    if (this.stopped) return;
    this.stopped = true;
    void Promise.resolve(this.source.return?.()).catch(() => undefined);
    this.finish({ error });
  }

  private finish(outcome: Outcome): void {
    if (this.outcome) return;
    this.outcome = outcome;
    this.settle?.(outcome);
  }
}

export class LiveDelivery {
  /** Queued deliveries, flat: subscription, item, subscription, item… from `head` on. */
  private readonly queue: unknown[] = [];
  private head = 0;
  private readonly payloads = new WeakMap<ExecutionResult, Buffer>();
  /**
   * The last shared result looked up: an item's deliveries are queued one
   * after the other (the bus hands it to all its subscribers at once), so
   * most lookups are this one. Forgotten at the end of each batch.
   */
  private last: { item: unknown; key: string; result: ExecutionResult | Promise<ExecutionResult> } | undefined = undefined;

  readonly capacity: number;
  private readonly maxWaitingBytes: number;

  /**
   * @param shape what graphql-ws's `onNext` would make of a result (the size check, the shaped errors), once per result
   */
  constructor(
    private readonly shape: (result: ExecutionResult) => ExecutionResult,
    options: LiveDeliveryOptions = {},
  ) {
    this.capacity = options.capacity ?? DEFAULT_SUBSCRIBER_BUFFER;
    this.maxWaitingBytes = options.maxWaitingBytes ?? MAX_WAITING_BYTES;
  }

  /** The iterator graphql-ws runs for this subscription: pulled until its stream is live, then pushed. */
  stream({ source, resultOf, key }: Subscribed, target: PushTarget): AsyncIterableIterator<ExecutionResult> {
    const head = Buffer.from(`{"id":${JSON.stringify(target.id)},"type":"next","payload":`);
    return new PushedStream(this, source, resultOf, key, target.socket, target.tcp, head);
  }

  enqueue(stream: PushedStream, item: unknown): void {
    if (this.queue.length === this.head) setImmediate(this.flush);
    this.queue.push(stream, item);
  }

  private readonly flush = (): void => {
    const end = Math.min(this.queue.length, this.head + 2 * BATCH);
    try {
      while (this.head < end) {
        const at = this.head;
        // Moved on before the delivery: whatever it does, it is not made twice, nor is the queue stuck behind it.
        this.head += 2;
        this.deliver(this.queue[at] as PushedStream, this.queue[at + 1]);
      }
    } finally {
      this.last = undefined;
      if (this.head < this.queue.length) {
        setImmediate(this.flush);
        // A steady backlog never empties the queue: drop what was written from its front.
        if (this.head >= COMPACT_AFTER) this.queue.splice(0, this.head), (this.head = 0);
      } else {
        this.queue.length = 0;
        this.head = 0;
      }
    }
  };

  private deliver(stream: PushedStream, item: unknown): void {
    if (stream.stopped) return stream.done();
    let result: ExecutionResult | Promise<ExecutionResult>;
    try {
      result = this.resultFor(stream, item);
    } catch (error) {
      stream.cut(error);
      return stream.done();
    }
    if (stream.waiting === undefined && !(result instanceof Promise)) return this.write(stream, item, result);
    // An asynchronous execution: this delivery and the ones after it wait for it, in order.
    const waiting: Promise<void> = (stream.waiting ?? Promise.resolve())
      .then(() => result)
      .then(
        (value) => this.write(stream, item, value),
        (error: unknown) => {
          stream.cut(error);
          stream.done();
        },
      )
      .finally(() => {
        if (stream.waiting === waiting) stream.waiting = undefined;
      });
    stream.waiting = waiting;
  }

  /** The item's result for this subscription: the last one looked up if it is the same item and operation. */
  private resultFor(stream: PushedStream, item: unknown): ExecutionResult | Promise<ExecutionResult> {
    const { last } = this;
    if (last !== undefined && last.item === item && last.key === stream.key) {
      executionCounts.shared += 1;
      return last.result;
    }
    const result = stream.resultOf(item);
    if (stream.key !== null) this.last = { item, key: stream.key, result };
    return result;
  }

  /** Writes one result (never throws: a failure ends this subscription) and counts the delivery done. */
  private write(stream: PushedStream, item: unknown, result: ExecutionResult): void {
    try {
      const { socket } = stream;
      const waiting = socket.bufferedAmount;
      if (stream.stopped || socket.readyState !== socket.OPEN) {
        // A closing socket: graphql-ws returns its subscriptions when it is closed.
      } else if (waiting > this.maxWaitingBytes) {
        stream.cut(slowConsumer(`more than ${this.maxWaitingBytes} bytes waiting to be sent`, stream.lastId));
      } else {
        const bytes = textFrame(stream.head, this.payload(result));
        // Straight to TCP only when nothing of ws's own waits to go before it (see above).
        if (stream.plain && waiting === stream.tcp.writableLength) stream.tcp.write(bytes);
        else socket.send(bytes.subarray(headerLength(bytes)), TEXT);
        stream.lastId = (item as { id?: string }).id;
      }
    } catch (error) {
      stream.cut(error);
    } finally {
      stream.done();
    }
  }

  /** The result's JSON in UTF-8, once for every socket that gets it. */
  private payload(result: ExecutionResult): Buffer {
    let json = this.payloads.get(result);
    if (json === undefined) this.payloads.set(result, (json = Buffer.from(JSON.stringify(this.shape(result)))));
    return json;
  }
}

const CLOSING_BRACE = 0x7d;
/** Bytes are sent as a binary frame unless told: graphql-ws speaks in text frames. */
const TEXT = { binary: false } as const;

/** FIN and the text opcode: a whole text message in one frame. */
const FIN_TEXT = 0x81;

/**
 * A WebSocket text frame from a server (unmasked) whose message is `head` +
 * `payload` + `}`: copies of bytes already encoded, not a string to encode
 * per socket.
 */
export function textFrame(head: Buffer, payload: Buffer): Buffer {
  const length = head.length + payload.length + 1;
  const header = length < 126 ? 2 : length < 65536 ? 4 : 10;
  const bytes = Buffer.allocUnsafe(header + length);
  bytes[0] = FIN_TEXT;
  if (header === 2) {
    bytes[1] = length;
  } else if (header === 4) {
    bytes[1] = 126;
    bytes.writeUInt16BE(length, 2);
  } else {
    bytes[1] = 127;
    bytes.writeBigUInt64BE(BigInt(length), 2);
  }
  head.copy(bytes, header);
  payload.copy(bytes, header + head.length);
  bytes[bytes.length - 1] = CLOSING_BRACE;
  return bytes;
}

/** The length of a frame's header, read from its second byte (7-bit length, or 126: 16-bit, 127: 64-bit). */
function headerLength(frame: Buffer): number {
  const length = frame[1]! & 0x7f;
  return length < 126 ? 2 : length === 126 ? 4 : 10;
}
