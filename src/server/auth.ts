// Who is calling: the API key (X-Auth-Key, graphql-ws connection_init) or an instance token (Authorization: Bearer), with failed attempts slowed per client.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { isIP } from 'node:net';
import { GraphQLError, type OperationDefinitionNode } from 'graphql';
import { ErrorCodes, ReactorError } from '../errors/codes.js';
import { InstanceTokens } from '../instances/tokens.js';
import type { AuthThrottle } from './throttle.js';
import type { Logger } from '../log/logger.js';

/** Shortest API key accepted off loopback: 16 characters of a random key are out of reach of guessing at the throttled rate. */
export const MIN_KEY_LENGTH = 16;

/** The caller: an operator (the API key, or anyone on a keyless loopback server) or one instance (its token). */
export type Principal = { kind: 'admin' } | { kind: 'instance'; instance: string };

/** Compares through a hash so neither length nor content leaks through timing. */
export function keyMatches(expected: string, given: unknown): boolean {
  if (typeof given !== 'string' || given.length === 0) return false;
  const digest = (value: string) => createHash('sha256').update(value).digest();
  return timingSafeEqual(digest(expected), digest(given));
}

/** True for 127.0.0.0/8, ::1 and `localhost`: addresses only this machine can reach. */
export function isLoopback(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, '');
  if (bare === 'localhost') return true;
  if (isIP(bare) === 4) return bare.startsWith('127.');
  if (isIP(bare) === 6) return bare === '::1';
  return false;
}

/** The key a graphql-ws client sent in `connection_init`: `{ apiKey }` or `{ "X-Auth-Key": … }`. */
export function keyFromConnectionParams(params: Record<string, unknown> | undefined): unknown {
  if (!params) return undefined;
  return params.apiKey ?? params['X-Auth-Key'] ?? params['x-auth-key'];
}

/** Why an API key cannot be used to listen on `host`, or null. */
export function keyProblem(host: string, port: number, apiKey: string | undefined): string | null {
  if (isLoopback(host)) return null;
  if (!apiKey) {
    return `refusing to listen on ${host}:${port} without an API key: put one in a file and pass --api-key-file FILE, or set REACTOR_API_KEY`;
  }
  if (apiKey.length < MIN_KEY_LENGTH) {
    return (
      `refusing to listen on ${host}:${port} with an API key of ${apiKey.length} characters: off loopback it must have at least ${MIN_KEY_LENGTH} ` +
      '(make one with `openssl rand -hex 32`)'
    );
  }
  return null;
}

/** A refused authentication: HTTP status, error code and message (and for 429, when to come back). */
export interface AuthRefusal {
  status: 401 | 429;
  code: string;
  message: string;
  retryAfterSeconds?: number;
}

export type AuthResult = { principal: Principal } | { refusal: AuthRefusal };

export interface AuthOptions {
  /** The API key; none = every caller of the api listener is an operator (loopback only). */
  apiKey?: string;
  tokens: InstanceTokens;
  /** True while the instance exists: a removed instance's token stops working. */
  instanceExists: (id: string) => Promise<boolean>;
  throttle: AuthThrottle;
  log: Logger;
}

/** Which listener a request came in on: the API, or the address containers reach (instance tokens only). */
export type Listener = 'api' | 'instance';

export class Authenticator {
  constructor(private readonly options: AuthOptions) {}

  /** The client address throttling counts by. */
  static client(request: Pick<IncomingMessage, 'socket'>): string {
    return (request.socket.remoteAddress ?? 'unknown').replace(/^::ffff:/, '');
  }

  /** Refusal when the client is still blocked for earlier failures, else null. */
  blocked(client: string): AuthRefusal | null {
    const waitMs = this.options.throttle.blockedFor(client);
    if (waitMs <= 0) return null;
    const seconds = Math.ceil(waitMs / 1000);
    return {
      status: 429,
      code: ErrorCodes.TOO_MANY_REQUESTS,
      message: `too many failed authentications from ${client}; try again in ${seconds} s`,
      retryAfterSeconds: seconds,
    };
  }

  /** An HTTP request: an instance token in `Authorization: Bearer …`, else the API key in X-Auth-Key. */
  async http(request: Pick<IncomingMessage, 'socket' | 'headers'>, listener: Listener): Promise<AuthResult> {
    const client = Authenticator.client(request);
    const blocked = this.blocked(client);
    if (blocked) return { refusal: blocked };
    const bearer = /^Bearer\s+(\S+)$/i.exec(String(request.headers.authorization ?? ''))?.[1];
    if (bearer !== undefined) return this.token(client, bearer);
    if (listener === 'instance') {
      return this.fail(client, 'this address takes only instance tokens: send Authorization: Bearer $REACTOR_TOKEN', 'no instance token');
    }
    return this.key(client, request.headers['x-auth-key'], 'missing or wrong API key: send it in the X-Auth-Key header');
  }

  /** A graphql-ws `connection_init` (api listener only: instances report over HTTP). */
  async connection(client: string, params: Record<string, unknown> | undefined): Promise<AuthResult> {
    const blocked = this.blocked(client);
    if (blocked) return { refusal: blocked };
    return this.key(client, keyFromConnectionParams(params), 'missing or wrong API key: send {"apiKey": …} in connection_init');
  }

  private async token(client: string, token: string): Promise<AuthResult> {
    const instance = this.options.tokens.verify(token);
    if (instance === null) return this.fail(client, 'instance token is not valid', 'bad instance token');
    if (!(await this.options.instanceExists(instance))) {
      return this.fail(client, `instance token of ${instance}, which no longer exists`, `token of gone instance ${instance}`);
    }
    this.options.throttle.succeed(client);
    return { principal: { kind: 'instance', instance } };
  }

  private key(client: string, given: unknown, message: string): AuthResult {
    const { apiKey } = this.options;
    if (!apiKey) return { principal: { kind: 'admin' } };
    if (InstanceTokens.looksLikeToken(given)) return this.fail(client, 'an instance token is not the API key; instances send it as Authorization: Bearer', 'instance token as API key');
    if (!keyMatches(apiKey, given)) return this.fail(client, message, given === undefined ? 'no API key' : 'wrong API key');
    this.options.throttle.succeed(client);
    return { principal: { kind: 'admin' } };
  }

  private fail(client: string, message: string, logged: string): AuthResult {
    const { failures, blockedMs } = this.options.throttle.fail(client);
    const wait = blockedMs > 0 ? `; blocked for ${Math.ceil(blockedMs / 1000)} s` : '';
    this.options.log.warn({ client }, `auth: refused ${client}: ${logged} (failure ${failures}${wait})`);
    return { refusal: { status: 401, code: ErrorCodes.UNAUTHENTICATED, message } };
  }
}

/** GraphQL operations an instance token may run: a mutation of setInstanceMetrics fields only. */
export function instanceOperationError(operation: OperationDefinitionNode | null | undefined): GraphQLError | null {
  const allowed =
    operation?.operation === 'mutation' &&
    operation.selectionSet.selections.every(
      (selection) => selection.kind === 'Field' && (selection.name.value === 'setInstanceMetrics' || selection.name.value === '__typename'),
    );
  if (allowed) return null;
  return new GraphQLError('an instance token allows only mutation { setInstanceMetrics(instance: $REACTOR_INSTANCE, metrics: …) }', {
    extensions: { code: ErrorCodes.FORBIDDEN, http: { status: 403 } },
  });
}

/** setInstanceMetrics is the instance's own word: only its token may say it, not the API key and not another instance. */
export function requireInstance(principal: Principal | undefined, instance: string): void {
  if (principal?.kind !== 'instance') {
    throw new ReactorError(
      ErrorCodes.FORBIDDEN,
      `setInstanceMetrics takes the token of instance ${instance} (REACTOR_TOKEN in its container, sent as Authorization: Bearer); ` +
        'the API key cannot speak for an instance (setCustomMetrics sets endpoint-wide metrics)',
      { instance },
    );
  }
  if (principal.instance !== instance) {
    throw new ReactorError(ErrorCodes.FORBIDDEN, `this token belongs to instance ${principal.instance}, not ${instance}`, { instance });
  }
}
