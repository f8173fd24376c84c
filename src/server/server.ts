// The control plane process: Apollo Server over HTTP and graphql-ws over WebSocket on one port and path.
import { mkdirSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { ApolloServer, type ApolloServerPlugin } from '@apollo/server';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import { ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import { expressMiddleware } from '@as-integrations/express5';
import express, { type NextFunction, type Request, type Response } from 'express';
import { GraphQLError } from 'graphql';
import { CloseCode } from 'graphql-ws';
import type { RetentionSettings } from '../config/retention.js';
import { badInput, ErrorCodes } from '../errors/codes.js';
import { dashboardRouter } from '../dashboard/serve.js';
import { explorerRouter } from '../explorer/serve.js';
import { createLogger, type Logger } from '../log/logger.js';
import { lockExclusively, type HeldLock } from '../store/lock.js';
import { openStore, redactStoreUrl, sqliteFileOf } from '../store/open.js';
import type { Store } from '../store/types.js';
import { requestTimingPlugin } from '../telemetry/apollo-plugin.js';
import { Telemetry } from '../telemetry/prometheus.js';
import { checkServerOptions, type ServerOptions } from './options.js';
import { parseConnectionBudgets } from './connection-budgets.js';
import { Authenticator, instanceOperationError, keyProblem, type Listener, type Principal } from './auth.js';
import type { RequestContext, Services } from './context.js';
import { httpErrorBody, makeErrorFormatter } from './errors.js';
import { RequestGuard } from './guard.js';
import { openInstanceListener } from './instance-listener.js';
import { apiLimits, jsonSizeWithin, limitRules, responseTooLarge, variablesError, type ApiLimits } from './limits.js';
import { parseListen } from './listen.js';
import { METRICS_PATH, metricsRoute } from './metrics-route.js';
import { plainGetGuide } from './plain-get.js';
import { buildSchema } from './schema.js';
import { createServices } from './services.js';
import { AuthThrottle } from './throttle.js';
import { startWebSocket } from './ws.js';

export const GRAPHQL_PATH = '/graphql';
/** Largest request body accepted; GraphQL documents and INI files are far smaller. */
export const BODY_LIMIT_BYTES = 1024 * 1024;

export type { ServerOptions };

export interface RunningServer {
  /** http://host:port/graphql */
  url: string;
  /** ws://host:port/graphql */
  wsUrl: string;
  /** REACTOR_API of containers: the instance listener's URL (or the API's own when there is none). */
  instanceUrl: string;
  services: Services;
  close(): Promise<void>;
}

export async function startServer(options: ServerOptions): Promise<RunningServer> {
  const log: Logger = options.log ?? createLogger();
  checkServerOptions(options);
  const listen = parseListen(options.listen ?? '127.0.0.1:8080');
  const keyRefusal = keyProblem(listen.host, listen.port, options.apiKey);
  if (keyRefusal) throw badInput(keyRefusal, { field: 'apiKey' });
  const limits = apiLimits(options.limits);
  const budgets = parseConnectionBudgets(options.maxConnectionsFrom);
  const dataDir = resolve(options.dataDir);
  mkdirSync(dataDir, { recursive: true });
  const storeUrl = options.store ?? `sqlite:${join(dataDir, 'reactor.db')}`;
  const locks = lockServerFiles(dataDir, storeUrl);
  const telemetry = new Telemetry();
  let store: Store;
  try {
    const onWait = (cause: string, waitMs: number) =>
      log.child({ component: 'server' }).warn(`the store ${redactStoreUrl(storeUrl)} does not answer yet (${cause}); trying for ${waitMs / 1000} s`);
    store = telemetry.instrument(await openStore(storeUrl, { onWait }));
  } catch (error) {
    for (const lock of locks) lock.release();
    throw error;
  }
  let instanceServer: HttpServer | null = null;
  try {
    const services = await createServices({ store, dataDir, options, log, telemetry });
    telemetry.attach({ store, bus: services.bus, balancer: () => services.traffic.balancer?.driver.stats });
    const httpServer = createServer();
    const schema = buildSchema();
    const apiLog = log.child({ component: 'api' });
    const formatError = makeErrorFormatter(options.debug ?? false, (error) =>
      apiLog.error({ err: error }, `internal error: ${error instanceof Error ? error.message : String(error)}`),
    );
    const guard = new RequestGuard({ listenHost: listen.host, allowHosts: options.allowHosts, allowOrigins: options.allowOrigins });
    const auth = new Authenticator({
      apiKey: options.apiKey,
      tokens: services.tokens,
      instanceExists: async (id) => (await store.instances.get(id)) !== null,
      throttle: new AuthThrottle(),
      log: apiLog,
    });
    const refused = refusalLog(apiLog);
    const ws = startWebSocket({ httpServer, path: GRAPHQL_PATH, schema, services, limits, budgets, guard, auth, formatError, refused });

    const apollo = new ApolloServer<RequestContext>({
      schema,
      // The CLI handles SIGTERM and SIGINT itself (closing everything, nginx kept or not); Apollo's own
      // handlers would stop only the API, then kill the process with the signal half-way through.
      stopOnTerminationSignals: false,
      csrfPrevention: true,
      introspection: true,
      includeStacktraceInErrorResponses: options.debug ?? false,
      formatError,
      validationRules: limitRules(limits),
      parseOptions: { maxTokens: limits.maxTokens },
      stringifyResult: (value) =>
        jsonSizeWithin(value, limits.maxResponseBytes) === null
          ? JSON.stringify({ errors: [formatError(responseTooLarge(limits).toJSON(), responseTooLarge(limits))] })
          : JSON.stringify(value),
      plugins: [
        ApolloServerPluginDrainHttpServer({ httpServer }),
        ApolloServerPluginLandingPageDisabled(),
        refuseSubscriptionsOverHttp(),
        requestLimits(limits),
        requestTimingPlugin(telemetry),
        {
          async serverWillStart() {
            return {
              async drainServer() {
                await ws.dispose();
              },
            };
          },
        },
      ],
    });
    await apollo.start();

    const graphql = [
      express.json({ limit: BODY_LIMIT_BYTES }),
      expressMiddleware(apollo, {
        context: async ({ res }): Promise<RequestContext> => ({ services, principal: res.locals.principal as Principal, limits }),
      }),
    ];
    const app = express();
    app.disable('x-powered-by');
    app.use(guarded(guard, refused));
    // Operations first, past no other route: POST is how clients send them (GET queries go the longer way below).
    app.post(GRAPHQL_PATH, authenticated(auth, 'api'), ...graphql);
    // /metrics takes the same API key as the API (X-Auth-Key, or Authorization: Bearer for Prometheus).
    app.get(METRICS_PATH, metricsRoute(telemetry, options.apiKey));
    app.use(explorerRouter());
    app.use(dashboardRouter());
    app.get(GRAPHQL_PATH, plainGetGuide);
    app.use(GRAPHQL_PATH, authenticated(auth, 'api'), ...graphql);
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

    await services.feed?.start();
    // Containers reach the API on an address of their own, where only instance tokens count.
    const containers = services.host
      ? await openInstanceListener(options.instanceListen, { host: listen.host, port: address.port }, GRAPHQL_PATH, apiLog)
      : null;
    if (containers) guard.addHost(containers.host);
    if (containers?.server) {
      instanceServer = containers.server;
      const instanceGuard = new RequestGuard({ listenHost: containers.host });
      const instanceApp = express();
      instanceApp.disable('x-powered-by');
      instanceApp.use(guarded(instanceGuard, refused));
      instanceApp.use(GRAPHQL_PATH, authenticated(auth, 'instance'), ...graphql);
      instanceApp.use(bodyErrorHandler);
      instanceServer.on('request', instanceApp);
      apiLog.info({ url: containers.url }, `instances reach the API at ${containers.url} (instance tokens only)`);
    }
    const instanceUrl = containers?.url ?? url;
    if (services.host) await services.host.start(instanceUrl);
    else await services.traffic.start();
    void services.controller?.start();

    let closing: Promise<void> | undefined;
    return {
      url,
      wsUrl: url.replace(/^http/, 'ws'),
      instanceUrl,
      services,
      close: () =>
        (closing ??= (async () => {
          await services.stop(options.keepBalancerOnExit ?? false);
          telemetry.detach();
          await apollo.stop();
          if (instanceServer) await closeHttp(instanceServer);
          await closeHttp(httpServer);
          await store.close();
          for (const lock of locks) lock.release();
        })()),
    };
  } catch (error) {
    if (instanceServer) await closeHttp(instanceServer);
    await store.close();
    throw error;
  }
}

/** Origin and Host checks first, for every route (the explorer's page too). */
function guarded(guard: RequestGuard, refused: RefusalLog) {
  return (req: Request, res: Response, next: NextFunction) => {
    const refusal = guard.check(req);
    if (!refusal) return next();
    refused(req, refusal.status, refusal.message);
    res.status(refusal.status).json(httpErrorBody(ErrorCodes.FORBIDDEN, refusal.message));
  };
}

/** The caller's principal in `res.locals.principal`, or a 401/429 answer. */
function authenticated(auth: Authenticator, listener: Listener) {
  return (req: Request, res: Response, next: NextFunction) => {
    auth.http(req, listener).then(
      (result) => {
        if ('principal' in result) {
          res.locals.principal = result.principal;
          return next();
        }
        const { refusal } = result;
        if (refusal.retryAfterSeconds !== undefined) res.set('Retry-After', String(refusal.retryAfterSeconds));
        res.status(refusal.status).json(httpErrorBody(refusal.code, refusal.message));
      },
      (error: unknown) => next(error),
    );
  };
}

type RefusalLog = (request: Pick<IncomingMessage, 'socket' | 'headers' | 'method' | 'url'>, status: number, message: string) => void;

/** Logs refused requests: the first of each kind per client per minute, then how many more there were. */
function refusalLog(log: Logger): RefusalLog {
  const seen = new Map<string, { at: number; more: number }>();
  return (request, status, message) => {
    const client = Authenticator.client(request);
    const key = `${client} ${status}`;
    const now = Date.now();
    const last = seen.get(key);
    if (last && now - last.at < 60_000) {
      last.more += 1;
      return;
    }
    const more = last?.more ? ` (${last.more} more since the last line)` : '';
    seen.delete(key);
    seen.set(key, { at: now, more: 0 });
    if (seen.size > 1000) seen.delete(seen.keys().next().value!);
    log.warn({ client, status }, `guard: refused ${request.method ?? 'GET'} ${request.url ?? ''} from ${client} (${status}): ${message}${more}`);
  };
}

/** Variables nested absurdly deep are BAD_USER_INPUT; an instance token runs only setInstanceMetrics. */
function requestLimits(limits: ApiLimits): ApolloServerPlugin<RequestContext> {
  return {
    async requestDidStart({ request, contextValue }) {
      return {
        async didResolveOperation({ operation }) {
          const deep = variablesError(request.variables, limits);
          if (deep) throw new GraphQLError(deep.message, { extensions: { ...deep.extensions, http: { status: 400 } } });
          if (contextValue.principal?.kind === 'instance') {
            const forbidden = instanceOperationError(operation);
            if (forbidden) throw forbidden;
          }
        },
      };
    },
  };
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

/**
 * One server per data directory (its manager id, nginx, SQLite store) and per
 * SQLite file, wherever it is: a second one fails here with CONFLICT naming
 * the directory or file and the pid holding it, before it opens or writes
 * anything. Several hosts share a mongodb:// store instead.
 */
function lockServerFiles(dataDir: string, storeUrl: string): HeldLock[] {
  const locks = [lockExclusively(join(dataDir, 'server.lock'), `data directory ${dataDir}`, `stop it first (reactor shutdown --data-dir ${dataDir}), or give this server its own --data-dir`)];
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
