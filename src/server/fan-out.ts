// Subscriptions at a thousand subscribers: each distinct operation is parsed and validated once, and executed once per event, whatever the number of sockets that share it.
import {
  createSourceEventStream,
  execute,
  GraphQLError,
  parse,
  validate,
  type DocumentNode,
  type ExecutionArgs,
  type ExecutionResult,
  type GraphQLSchema,
  type ValidationRule,
} from 'graphql';

/**
 * Before: every subscriber's resolvers ran for every event (1,000 sockets on
 * one endpoint's samples were 1,000 executions of the same selection on the
 * same item, and 1,000 parses and validations of the same text at
 * subscribe). Now:
 *
 * - `DocumentCache`: the parsed and validated document by its text, as
 *   Apollo's persisted queries and its own document store do for HTTP.
 * - `subscribeOnce`: each subscriber keeps its own source stream (the bus
 *   subscription with its bounded queue, its `afterId` replay, whatever
 *   arguments add), so what it receives and when is unchanged; but the
 *   execution of an item is shared by every subscriber whose operation has
 *   the same key (document text, operation name, variables, caller kind)
 *   and that received the very same item object (the bus hands one object
 *   to all). The result object is shared too, so what is derived from it
 *   (the size check, the shaped errors, the JSON) is also done once.
 * - How results reach the sockets: `pulled` hands them to graphql-ws one
 *   `next()` at a time; src/server/live-delivery.ts writes the live ones
 *   directly once the stream is live.
 *
 * Keying on the variables keeps subscribers with different arguments
 * (another endpoint, `afterId`, arguments added later) apart; replayed
 * history items are objects of their own and are executed for their
 * subscriber alone.
 */

/**
 * How many distinct operation texts are kept parsed, the longest kept, and
 * their total length. A parsed document keeps every token with its location
 * (errors name line and column, over WebSocket as over HTTP): measured with
 * graphql 16, about 95 bytes of heap per byte of text (a 16 KB text takes
 * 1.4 MB, a 400-byte one 38 KB; `noLocation` only divides that by 3). So the
 * bound is on the text kept: 256 KB of text, about 25 MB of heap at most,
 * which still holds 1,000 operations of 256 bytes (a dashboard's are a few
 * hundred bytes, and all its sockets share them).
 */
export const DOCUMENTS_KEPT = 1000;
export const LONGEST_KEPT = 16 * 1024;
export const TEXT_KEPT = 256 * 1024;

export type Parsed = { document: DocumentNode } | { errors: readonly GraphQLError[] };

export class DocumentCache {
  private readonly kept = new Map<string, Parsed>();
  /** The total length of the texts kept. */
  private keptLength = 0;

  constructor(
    private readonly schema: GraphQLSchema,
    private readonly rules: readonly ValidationRule[],
    private readonly maxTokens: number,
  ) {}

  /**
   * The document of `text`, or why it cannot run. Only documents that can
   * run are kept, and only texts of reasonable length: a client sending
   * garbage or huge texts pays for its own parsing and fills nothing.
   */
  get(text: string): Parsed {
    const found = this.kept.get(text);
    if (found) {
      // Most recently used last, so the oldest is the first key.
      this.kept.delete(text);
      this.kept.set(text, found);
      return found;
    }
    const parsed = this.parse(text);
    if ('errors' in parsed || text.length > LONGEST_KEPT) return parsed;
    this.kept.set(text, parsed);
    this.keptLength += text.length;
    while (this.kept.size > DOCUMENTS_KEPT || this.keptLength > TEXT_KEPT) {
      const oldest = this.kept.keys().next().value!;
      this.kept.delete(oldest);
      this.keptLength -= oldest.length;
    }
    return parsed;
  }

  /** Texts kept and their total length (for tests). */
  get size(): { documents: number; length: number } {
    return { documents: this.kept.size, length: this.keptLength };
  }

  private parse(text: string): Parsed {
    let document: DocumentNode;
    try {
      document = parse(text, { maxTokens: this.maxTokens });
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      return { errors: [new GraphQLError(message, { extensions: { code: 'GRAPHQL_PARSE_FAILED' } })] };
    }
    const errors = validate(this.schema, document, this.rules);
    return errors.length > 0 ? { errors } : { document };
  }
}

/** What makes two subscriptions execute an item alike: the operation's text and name, its variables, and who asks. */
export function executionKey(query: string, operationName: string | null | undefined, variables: unknown, caller: string): string {
  return JSON.stringify([query, operationName ?? null, variables ?? null, caller]);
}

/** Results by item, then by execution key; an item is forgotten with the last subscriber that holds it. */
const executed = new WeakMap<object, Map<string, PromiseOrValue<ExecutionResult>>>();

/** Executions actually run and shared (for tests and the benchmark's notes). */
export const executionCounts = { run: 0, shared: 0 };

type PromiseOrValue<T> = T | Promise<T>;

/** A subscriber's result for one item of its source stream: synchronous when every resolver of the selection is. */
export type ResultOf = (item: unknown) => PromiseOrValue<ExecutionResult>;

export interface Subscribed {
  /** The subscription's source stream (the resolver's `subscribe`). */
  source: AsyncIterator<unknown>;
  resultOf: ResultOf;
  /** Its execution key (null: executed for it alone): subscriptions with the same key get the same result for an item. */
  key: string | null;
}

/**
 * The first half of graphql-js `subscribe`: the source stream, and how an
 * item of it becomes a result, shared by key (see above); `key` null:
 * executed for this subscriber alone. An ExecutionResult when the
 * subscription cannot start (its errors).
 */
export async function subscribeOnce(args: ExecutionArgs, key: string | null): Promise<Subscribed | ExecutionResult> {
  const source = await createSourceEventStream(args);
  if (!isAsyncIterator(source)) return source as ExecutionResult;
  const run = (item: unknown): PromiseOrValue<ExecutionResult> => {
    executionCounts.run += 1;
    return execute({ ...args, rootValue: item });
  };
  const resultOf: ResultOf = (item) => {
    if (key === null || typeof item !== 'object' || item === null) return run(item);
    let byKey = executed.get(item);
    if (!byKey) executed.set(item, (byKey = new Map()));
    const found = byKey.get(key);
    if (found) {
      executionCounts.shared += 1;
      return found;
    }
    const result = run(item);
    byKey.set(key, result);
    return result;
  };
  return { source, resultOf, key };
}

/** The results of a subscription as graphql-ws pulls them: one `next()` per item. */
export function pulled({ source, resultOf }: Subscribed): AsyncIterableIterator<ExecutionResult> {
  const iterator: AsyncIterableIterator<ExecutionResult> = {
    next: async () => {
      const step = await source.next();
      return step.done ? step : { done: false, value: await resultOf(step.value) };
    },
    return: async () => {
      await source.return?.();
      return { done: true, value: undefined };
    },
    throw: async (error?: unknown) => {
      await source.return?.();
      throw error;
    },
    [Symbol.asyncIterator]() {
      return iterator;
    },
  };
  return iterator;
}

/**
 * `shape(result)` once per result object: results are shared between the
 * subscribers of one key, so the size check and the error shaping that
 * `onNext` does for each socket are done once for all of them.
 */
export function oncePerResult<R extends object>(shape: (result: ExecutionResult) => R): (result: ExecutionResult) => R {
  const shaped = new WeakMap<ExecutionResult, R>();
  return (result) => {
    let found = shaped.get(result);
    if (!found) shaped.set(result, (found = shape(result)));
    return found;
  };
}

function isAsyncIterator(value: unknown): value is AsyncIterator<unknown> {
  return typeof (value as AsyncIterable<unknown>)?.[Symbol.asyncIterator] === 'function';
}
