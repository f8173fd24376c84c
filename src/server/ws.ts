// graphql-ws on the API's WebSocket: Origin, Host and per-client connection limits at the upgrade, the API key at connection_init, and per-operation limits at subscribe.
import type { IncomingMessage, Server as HttpServer } from 'node:http';
import type { Socket } from 'node:net';
import { GraphQLError, getOperationAST, specifiedRules, type ExecutionArgs, type ExecutionResult, type GraphQLSchema } from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer, type WebSocket } from 'ws';
import { ErrorCodes } from '../errors/codes.js';
import { Authenticator, type Principal } from './auth.js';
import { connectionLimitFor, type ConnectionBudget } from './connection-budgets.js';
import type { RequestContext, Services } from './context.js';
import type { makeErrorFormatter } from './errors.js';
import { DocumentCache, executionKey, oncePerResult, pulled, subscribeOnce } from './fan-out.js';
import type { RequestGuard } from './guard.js';
import { jsonSizeWithin, limitRules, responseTooLarge, variablesError, type ApiLimits } from './limits.js';
import { LiveDelivery, type PushTarget } from './live-delivery.js';

type Formatter = ReturnType<typeof makeErrorFormatter>;

export interface WebSocketOptions {
  httpServer: HttpServer;
  path: string;
  schema: GraphQLSchema;
  services: Services;
  limits: ApiLimits;
  /** Per-address budgets that replace `limits.maxConnectionsPerClient` (`--max-connections-from`). */
  budgets: readonly ConnectionBudget[];
  guard: RequestGuard;
  auth: Authenticator;
  formatError: Formatter;
  /** Records a refused upgrade (the guard's or the connection limit's). */
  refused: (request: IncomingMessage, status: number, message: string) => void;
}

/** Close code for a client blocked after failed authentications (4429, as HTTP's 429). */
export const CLOSE_TOO_MANY_REQUESTS = 4429;

/**
 * graphql-ws with the guidance of its own docs applied: validate and bound
 * every operation in `onSubscribe` (parsing with a token limit, the armor
 * rules, variable nesting, operations per socket), never let an internal
 * error text reach a close reason (`isProd`), and cap message size.
 */
export function startWebSocket(options: WebSocketOptions): { dispose(): Promise<void> } {
  const { limits, guard, auth, services, schema, formatError } = options;
  const perClient = new Map<string, number>();
  // Declared apart from verifyClient: a closure made there would keep its scope (the upgrade request and ws's callback) for the socket's life, a kilobyte per socket.
  const countDownOnClose = (socket: Socket, client: string) =>
    socket.once('close', () => {
      const left = (perClient.get(client) ?? 1) - 1;
      if (left <= 0) perClient.delete(client);
      else perClient.set(client, left);
    });
  const rules = [...specifiedRules, ...limitRules(limits)];
  const wsServer = new WebSocketServer({
    server: options.httpServer,
    path: options.path,
    maxPayload: limits.maxMessageBytes,
    // No compression (ws's default, said here): live items are written as whole frames to the TCP socket (src/server/live-delivery.ts).
    perMessageDeflate: false,
    verifyClient: (info, callback) => {
      const refuse = (status: number, message: string) => {
        options.refused(info.req, status, message);
        callback(false, status, message);
      };
      const refusal = guard.check(info.req);
      if (refusal) return refuse(refusal.status, refusal.message);
      const client = Authenticator.client(info.req);
      const blocked = auth.blocked(client);
      if (blocked) return refuse(429, blocked.message);
      const open = perClient.get(client) ?? 0;
      const { limit, range } = connectionLimitFor(client, options.budgets, limits.maxConnectionsPerClient);
      if (limit !== null && open >= limit) {
        return refuse(
          429,
          range === null
            ? `${client} has ${open} WebSockets open, the server's limit per client address (--max-connections; --max-connections-from ${client}=N raises it for this address)`
            : `${client} has ${open} WebSockets open, the limit per address of ${range} (--max-connections-from)`,
        );
      }
      perClient.set(client, open + 1);
      countDownOnClose(info.req.socket, client);
      callback(true);
    },
  });

  const principals = new WeakMap<object, Principal>();
  // Parsed and validated once per text; executed once per event and key (src/server/fan-out.ts).
  const documents = new DocumentCache(schema, rules, limits.maxTokens);
  // Each subscription's execution key (null: executed for it alone) and, when shared, where its live items are written
  // directly (src/server/live-delivery.ts): both decided at onSubscribe, read once at subscribe.
  const shares = new WeakMap<ExecutionArgs, { key: string; target: PushTarget }>();
  const shapeNext = oncePerResult((result) =>
    jsonSizeWithin(result, limits.maxResponseBytes) === null
      ? ({ errors: [formatted(responseTooLarge(limits), formatError)] } as ExecutionResult)
      : formatExecutionResult(result, formatError),
  );
  const live = new LiveDelivery(shapeNext);
  const cleanup = useServer<Record<string, unknown>, { request: IncomingMessage; socket: WebSocket }>(
    {
      // Internal errors never reach a close reason, whatever NODE_ENV says.
      isProd: true,
      onConnect: async (ctx) => {
        try {
          const result = await auth.connection(Authenticator.client(ctx.extra.request), ctx.connectionParams);
          if ('refusal' in result) {
            if (result.refusal.status === 429) ctx.extra.socket.close(CLOSE_TOO_MANY_REQUESTS, result.refusal.message.slice(0, 120));
            return false;
          }
          principals.set(ctx, result.principal);
          return true;
        } catch {
          return false;
        }
      },
      onSubscribe: (ctx, id, payload) => {
        const open = Object.keys(ctx.subscriptions).length;
        if (open > limits.maxSubscriptionsPerConnection) {
          return [
            new GraphQLError(
              `this connection has ${limits.maxSubscriptionsPerConnection} operations open, the server's limit (--max-subscriptions); complete one first or open another connection`,
              { extensions: { code: ErrorCodes.TOO_MANY_REQUESTS, limit: limits.maxSubscriptionsPerConnection } },
            ),
          ];
        }
        const deep = variablesError(payload.variables, limits);
        if (deep) return [deep];
        const parsed = documents.get(payload.query);
        if ('errors' in parsed) return [...parsed.errors];
        const { document } = parsed;
        if (!getOperationAST(document, payload.operationName)) {
          return [new GraphQLError('the document has no operation of that name (or several and no operationName)', { extensions: { code: 'BAD_USER_INPUT' } })];
        }
        const principal = principals.get(ctx) ?? { kind: 'admin' as const };
        const context: RequestContext = { services, principal, limits };
        const args: ExecutionArgs = {
          schema,
          document,
          operationName: payload.operationName,
          variableValues: payload.variables,
          contextValue: context,
        };
        // An instance's token names one instance: its executions are its own, and go through graphql-ws.
        const shared = principal.kind === 'admin';
        if (shared) {
          const key = executionKey(payload.query, payload.operationName, payload.variables, 'admin');
          shares.set(args, { key, target: { socket: ctx.extra.socket, tcp: ctx.extra.request.socket, id } });
        }
        return args;
      },
      subscribe: async (args) => {
        const share = shares.get(args);
        const subscribed = await subscribeOnce(args, share?.key ?? null);
        if (!('source' in subscribed)) return subscribed;
        return share ? live.stream(subscribed, share.target) : pulled(subscribed);
      },
      onNext: (_ctx, _id, _payload, _args, result) => shapeNext(result),
      onError: (_ctx, _id, _payload, errors) => errors.map((error) => formatted(error, formatError)),
    },
    wsServer,
  );
  return { dispose: async () => cleanup.dispose() };
}

/** A GraphQL error as clients see it: the formatter's message and code, nothing internal. */
function formatted(error: GraphQLError, formatError: Formatter): GraphQLError {
  const withCode = error.extensions?.code
    ? error
    : new GraphQLError(error.message, { nodes: error.nodes, extensions: { code: 'GRAPHQL_VALIDATION_FAILED' } });
  const shaped = formatError(withCode.toJSON(), withCode);
  return new GraphQLError(shaped.message, { nodes: error.nodes, path: shaped.path, extensions: shaped.extensions });
}

function formatExecutionResult(result: ExecutionResult, formatError: Formatter): ExecutionResult {
  if (!result.errors?.length) return result;
  return {
    ...result,
    errors: result.errors.map((error) => {
      const shaped = formatError(error.toJSON(), error);
      return new GraphQLError(shaped.message, { path: shaped.path, extensions: shaped.extensions });
    }),
  };
}
