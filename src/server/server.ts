// The control plane process: Apollo Server over HTTP and graphql-ws over WebSocket on one port and path.
import { mkdirSync } from 'node:fs';
import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
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
import { createLogger, type Logger } from '../log/logger.js';
import { openStore } from '../store/open.js';
import { requestTimingPlugin } from '../telemetry/apollo-plugin.js';
import type { Store } from '../store/types.js';
import { Telemetry } from '../telemetry/prometheus.js';
import { isLoopback, keyFromConnectionParams, keyMatches } from './auth.js';
import type { RequestContext, Services } from './context.js';
import { httpErrorBody, makeErrorFormatter } from './errors.js';
import { parseListen } from './listen.js';
import { METRICS_PATH, metricsRoute } from './metrics-route.js';
import { plainGetGuide } from './plain-get.js';
import { buildSchema } from './schema.js';
import { createServices } from './services.js';

export const GRAPHQL_PATH = '/graphql';
/** Largest request body accepted; GraphQL documents and INI files are far smaller. */
export const BODY_LIMIT_BYTES = 1024 * 1024;

export interface ServerOptions {
  /** host:port; default 127.0.0.1:8080. Port 0 picks a free port. */
  listen?: string;
  /** Where the SQLite store, nginx files and the manager id live. */
  dataDir: string;
  /** `sqlite:PATH` or `mongodb://…`; default sqlite in the data directory. */
  store?: string;
  /** Required when listening beyond loopback. */
  apiKey?: string;
  /** Stack traces in errors. */
  debug?: boolean;
  /** Name of the local manager; default the host name. */
  name?: string;
  /** Slots of the local manager; default: the stored value, else 1000. */
  slots?: number;
  /** Seconds between evaluation rounds. */
  interval?: number;
  /** Run the local docker agent (default true). */
  agent?: boolean;
  /** Address the local nginx's endpoint servers listen on (default 0.0.0.0). */
  balancerAddress?: string;
  /** Seconds metric samples are kept (default 86400). */
  metricsRetention?: number;
  /**
   * On close, leave nginx serving its last good configuration (for the next
   * server on this data directory to adopt) instead of stopping it. The CLI
   * sets this unless `--stop-balancer-on-exit`; default false.
   */
  keepBalancerOnExit?: boolean;
  /** Where logs go; default a logger on standard error (JSON, or readable lines on a terminal). */
  log?: Logger;
}

export interface RunningServer {
  /** http://host:port/graphql */
  url: string;
  /** ws://host:port/graphql */
  wsUrl: string;
  services: Services;
  close(): Promise<void>;
}

export async function startServer(options: ServerOptions): Promise<RunningServer> {
  const log = options.log ?? createLogger();
  const listen = parseListen(options.listen ?? '127.0.0.1:8080');
  if (!isLoopback(listen.host) && !options.apiKey) {
    throw badInput(
      `refusing to listen on ${listen.host}:${listen.port} without an API key: pass --api-key or set REACTOR_API_KEY`,
    );
  }
  const dataDir = resolve(options.dataDir);
  mkdirSync(dataDir, { recursive: true });
  const telemetry = new Telemetry();
  const store = telemetry.instrument(await openStore(options.store ?? `sqlite:${join(dataDir, 'reactor.db')}`));
  try {
    const services = await createServices({ store, dataDir, options, log, telemetry });
    telemetry.attach({ store, bus: services.bus, balancer: () => services.traffic.balancer?.driver.stats });
    const httpServer = createServer();
    const schema = buildSchema();
    const apiLog = log.child({ component: 'api' });
    const formatError = makeErrorFormatter(options.debug ?? false, (error) =>
      apiLog.error({ err: error }, `internal error: ${error instanceof Error ? error.message : String(error)}`),
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
      // The CLI handles SIGTERM and SIGINT itself (closing everything, nginx kept or not); Apollo's own
      // handlers would stop only the API, then kill the process with the signal half-way through.
      stopOnTerminationSignals: false,
      csrfPrevention: true,
      introspection: true,
      includeStacktraceInErrorResponses: options.debug ?? false,
      formatError,
      plugins: [
        ApolloServerPluginDrainHttpServer({ httpServer }),
        ApolloServerPluginLandingPageDisabled(),
        refuseSubscriptionsOverHttp(),
        requestTimingPlugin(telemetry),
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
    app.get(METRICS_PATH, metricsRoute(telemetry, options.apiKey));
    app.use(explorerRouter());
    app.get(GRAPHQL_PATH, plainGetGuide);
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
    apiLog.info({ url, store: store.kind, dataDir }, `reactor ${services.version} listening on ${url} (store: ${store.kind}, data: ${dataDir})`);
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
          await services.stop(options.keepBalancerOnExit ?? false);
          telemetry.detach();
          await apollo.stop();
          await closeHttp(httpServer);
          await store.close();
        })()),
    };
  } catch (error) {
    await store.close();
    throw error;
  }
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
