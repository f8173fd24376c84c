// The control plane process: Apollo Server over HTTP and graphql-ws over WebSocket on one port and path.
import { mkdirSync } from 'node:fs';
import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { ApolloServer, type ApolloServerPlugin } from '@apollo/server';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import { ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import { expressMiddleware } from '@as-integrations/express5';
import express, { type NextFunction, type Request, type Response } from 'express';
import { GraphQLError, type ExecutionResult } from 'graphql';
import { CloseCode } from 'graphql-ws';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer } from 'ws';
import { badInput, ErrorCodes } from '../errors/codes.js';
import { explorerRouter } from '../explorer/serve.js';
import { lockExclusively, type HeldLock } from '../store/lock.js';
import { openStore, sqliteFileOf } from '../store/open.js';
import type { Store } from '../store/types.js';
import { isLoopback, keyFromConnectionParams, keyMatches } from './auth.js';
import { checkServerOptions, type ServerOptions } from './options.js';
import type { RequestContext, Services } from './context.js';
import { httpErrorBody, makeErrorFormatter } from './errors.js';
import { parseListen } from './listen.js';
import { buildSchema } from './schema.js';
import { createServices } from './services.js';

export const GRAPHQL_PATH = '/graphql';
/** Largest request body accepted; GraphQL documents and INI files are far smaller. */
export const BODY_LIMIT_BYTES = 1024 * 1024;

export type { ServerOptions };

export interface RunningServer {
  /** http://host:port/graphql */
  url: string;
  /** ws://host:port/graphql */
  wsUrl: string;
  services: Services;
  close(): Promise<void>;
}

export async function startServer(options: ServerOptions): Promise<RunningServer> {
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  checkServerOptions(options);
  const listen = parseListen(options.listen ?? '127.0.0.1:8080');
  if (!isLoopback(listen.host) && !options.apiKey) {
    throw badInput(
      `refusing to listen on ${listen.host}:${listen.port} without an API key: pass --api-key or set REACTOR_API_KEY`,
    );
  }
  const dataDir = resolve(options.dataDir);
  mkdirSync(dataDir, { recursive: true });
  const storeUrl = options.store ?? `sqlite:${join(dataDir, 'reactor.db')}`;
  const locks = lockServerFiles(dataDir, storeUrl);
  let store: Store;
  try {
    store = await openStore(storeUrl);
  } catch (error) {
    for (const lock of locks) lock.release();
    throw error;
  }
  try {
    const services = await createServices({ store, dataDir, options, log });
    const httpServer = createServer();
    const schema = buildSchema();
    const formatError = makeErrorFormatter(options.debug ?? false, (error) =>
      log(`error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`),
    );

    const wsServer = new WebSocketServer({ server: httpServer, path: GRAPHQL_PATH });
    const wsCleanup = useServer<Record<string, unknown>>(
      {
        schema,
        context: (): RequestContext => ({ services }),
        onConnect: (ctx) => !options.apiKey || keyMatches(options.apiKey, keyFromConnectionParams(ctx.connectionParams)),
        onNext: (_ctx, _id, _payload, _args, result) => formatExecutionResult(result, formatError),
        onError: (_ctx, _id, _payload, errors) =>
          errors.map((error) => {
            const withCode = error.extensions?.code
              ? error
              : new GraphQLError(error.message, {
                  nodes: error.nodes,
                  extensions: { code: 'GRAPHQL_VALIDATION_FAILED' },
                });
            return new GraphQLError(formatError(withCode.toJSON(), withCode).message, {
              nodes: error.nodes,
              extensions: { code: withCode.extensions.code },
            });
          }),
      },
      wsServer,
    );

    const apollo = new ApolloServer<RequestContext>({
      schema,
      csrfPrevention: true,
      introspection: true,
      includeStacktraceInErrorResponses: options.debug ?? false,
      formatError,
      plugins: [
        ApolloServerPluginDrainHttpServer({ httpServer }),
        ApolloServerPluginLandingPageDisabled(),
        refuseSubscriptionsOverHttp(),
        {
          async serverWillStart() {
            return {
              async drainServer() {
                await wsCleanup.dispose();
              },
            };
          },
        },
      ],
    });
    await apollo.start();

    const app = express();
    app.disable('x-powered-by');
    app.use(explorerRouter());
    app.use(GRAPHQL_PATH, (req: Request, res: Response, next: NextFunction) => {
      if (options.apiKey && !keyMatches(options.apiKey, req.get('x-auth-key'))) {
        res
          .status(401)
          .json(httpErrorBody(ErrorCodes.UNAUTHENTICATED, 'missing or wrong API key: send it in the X-Auth-Key header'));
        return;
      }
      next();
    });
    app.use(
      GRAPHQL_PATH,
      express.json({ limit: BODY_LIMIT_BYTES }),
      expressMiddleware(apollo, { context: async (): Promise<RequestContext> => ({ services }) }),
    );
    app.use(bodyErrorHandler);
    httpServer.on('request', app);

    await new Promise<void>((resolveListen, reject) => {
      httpServer.once('error', reject);
      httpServer.listen(listen.port, listen.host, () => {
        httpServer.off('error', reject);
        resolveListen();
      });
    });
    const address = httpServer.address() as AddressInfo;
    const hostForUrl = address.family === 'IPv6' ? `[${address.address}]` : address.address;
    const url = `http://${hostForUrl}:${address.port}${GRAPHQL_PATH}`;
    log(`reactor ${services.version} listening on ${url} (store: ${store.kind}, data: ${dataDir})`);
    await services.feed?.start();
    if (services.host) await services.host.start(url);
    else await services.traffic.start();
    void services.controller?.start();

    let closing: Promise<void> | undefined;
    return {
      url,
      wsUrl: url.replace(/^http/, 'ws'),
      services,
      close: () =>
        (closing ??= (async () => {
          await services.stop();
          await apollo.stop();
          await closeHttp(httpServer);
          await store.close();
          for (const lock of locks) lock.release();
        })()),
    };
  } catch (error) {
    await store.close();
    for (const lock of locks) lock.release();
    throw error;
  }
}

/**
 * One server per data directory (its manager id, nginx, SQLite store) and per
 * SQLite file, wherever it is: a second one fails here with CONFLICT naming
 * the directory or file and the pid holding it, before it opens or writes
 * anything. Several hosts share a mongodb:// store instead.
 */
function lockServerFiles(dataDir: string, storeUrl: string): HeldLock[] {
  const locks = [lockExclusively(join(dataDir, 'server.lock'), `data directory ${dataDir}`, 'stop it, or give this server its own --data-dir')];
  const sqliteFile = sqliteFileOf(storeUrl);
  if (sqliteFile && dirname(sqliteFile) !== dataDir) {
    try {
      mkdirSync(dirname(sqliteFile), { recursive: true });
      locks.push(
        lockExclusively(
          `${sqliteFile}.lock`,
          `SQLite store ${sqliteFile}`,
          'a SQLite store belongs to one host; stop that server, or give several hosts one --store mongodb://… instead',
        ),
      );
    } catch (error) {
      locks[0]!.release();
      throw error;
    }
  }
  return locks;
}

/** Subscriptions need a stream; over HTTP Apollo would run them like a query and fail obscurely. */
function refuseSubscriptionsOverHttp(): ApolloServerPlugin<RequestContext> {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ operation }) {
          if (operation?.operation === 'subscription') {
            throw new GraphQLError(
              `subscriptions run over WebSocket (graphql-ws protocol) at ws://<host>${GRAPHQL_PATH}, not over HTTP`,
              { extensions: { code: 'BAD_REQUEST', http: { status: 400 } } },
            );
          }
        },
      };
    },
  };
}

function formatExecutionResult(
  result: ExecutionResult,
  formatError: ReturnType<typeof makeErrorFormatter>,
): ExecutionResult {
  if (!result.errors?.length) return result;
  return {
    ...result,
    errors: result.errors.map((error) => {
      const formatted = formatError(error.toJSON(), error);
      return new GraphQLError(formatted.message, { path: formatted.path, extensions: formatted.extensions });
    }),
  };
}

/** express.json failures (oversized or malformed bodies) answered in GraphQL's error shape. */
function bodyErrorHandler(error: unknown, _req: Request, res: Response, next: NextFunction) {
  const failure = error as { type?: string; status?: number; length?: number; message?: string };
  if (failure?.type === 'entity.too.large') {
    res
      .status(413)
      .json(
        httpErrorBody(
          ErrorCodes.BAD_USER_INPUT,
          `request body of ${failure.length ?? 'unknown'} bytes is larger than the ${BODY_LIMIT_BYTES} byte limit`,
        ),
      );
    return;
  }
  if (failure?.type === 'entity.parse.failed') {
    res.status(400).json(httpErrorBody(ErrorCodes.BAD_USER_INPUT, `request body is not valid JSON: ${failure.message}`));
    return;
  }
  next(error);
}

function closeHttp(server: HttpServer): Promise<void> {
  return new Promise((resolveClose) => {
    if (!server.listening) return resolveClose();
    server.close(() => resolveClose());
    server.closeAllConnections();
  });
}

export { CloseCode };
export type { Store };
