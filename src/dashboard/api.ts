// The dashboard's GraphQL client: queries and mutations over HTTP, subscriptions over graphql-ws, the API key on both, errors carrying the server's message and code.
import { createClient, type Client } from 'graphql-ws';

/** A GraphQL or transport error, with the server's own message and `extensions.code` when it gave one. */
export class ApiError extends Error {
  constructor(
    message: string,
    readonly code: string | undefined,
  ) {
    super(message);
  }

  /** True when the server refused the API key (missing or wrong). */
  get unauthenticated(): boolean {
    return this.code === 'UNAUTHENTICATED';
  }
}

interface GraphQLBody<T> {
  data?: T | null;
  errors?: { message: string; extensions?: { code?: string } }[];
}

function errorOf(errors: NonNullable<GraphQLBody<unknown>['errors']>): ApiError {
  return new ApiError(errors.map((e) => e.message).join('; '), errors[0]?.extensions?.code);
}

/** graphql-ws closes a connection whose connection_init the server refused with 4403 (forbidden) or 4401. */
function closeError(event: unknown): ApiError | null {
  const close = event as { code?: number; reason?: string };
  if (typeof close?.code !== 'number') return null;
  if (close.code === 4401 || close.code === 4403) return new ApiError(close.reason || 'the server refused the API key', 'UNAUTHENTICATED');
  return new ApiError(`the live connection closed (${close.code}${close.reason ? `: ${close.reason}` : ''})`, 'CONNECTION_CLOSED');
}

export class Api {
  private readonly ws: Client;
  private readonly url = `${location.origin}/graphql`;

  /** `onConnectionError` hears why the WebSocket was refused (a wrong key, most often). */
  constructor(
    readonly apiKey: string,
    onConnectionError: (error: ApiError) => void,
  ) {
    const wsUrl = new URL('/graphql', location.href);
    wsUrl.protocol = location.protocol === 'https:' ? 'wss:' : 'ws:';
    this.ws = createClient({
      url: wsUrl.href,
      connectionParams: () => (apiKey ? { apiKey } : {}),
      retryAttempts: Infinity,
      // A refused key will not become right by retrying; anything else (a restart) is worth retrying.
      shouldRetry: (event) => !closeError(event)?.unauthenticated,
      on: {
        closed: (event) => {
          const error = closeError(event);
          // graphql-ws says only "Forbidden"; the same key over HTTP gets the server's reason in words.
          if (error?.unauthenticated) this.request('{ version }').then(() => onConnectionError(error), (refusal: ApiError) => onConnectionError(refusal.unauthenticated ? refusal : error));
        },
      },
    });
  }

  async request<T>(query: string, variables: Record<string, unknown> = {}): Promise<T> {
    let response: Response;
    try {
      response = await fetch(this.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(this.apiKey ? { 'X-Auth-Key': this.apiKey } : {}) },
        body: JSON.stringify({ query, variables }),
      });
    } catch (error) {
      throw new ApiError(`cannot reach the server: ${error instanceof Error ? error.message : String(error)}`, 'NETWORK');
    }
    let body: GraphQLBody<T>;
    try {
      body = (await response.json()) as GraphQLBody<T>;
    } catch {
      throw new ApiError(`the server answered ${response.status} ${response.statusText} without a GraphQL body`, 'HTTP');
    }
    if (body.errors?.length) throw errorOf(body.errors);
    if (!body.data) throw new ApiError(`the server answered ${response.status} with no data`, 'HTTP');
    return body.data;
  }

  /** Streams `query`'s items to `next` until the returned function is called. */
  subscribe<T>(query: string, variables: Record<string, unknown>, next: (item: T) => void, fail: (error: ApiError) => void): () => void {
    return this.ws.subscribe<T>(
      { query, variables },
      {
        next: (value) => {
          if (value.errors?.length) fail(errorOf(value.errors as NonNullable<GraphQLBody<unknown>['errors']>));
          else if (value.data) next(value.data as T);
        },
        error: (error) => fail(error instanceof Error ? new ApiError(error.message, undefined) : (closeError(error) ?? new ApiError(String(error), undefined))),
        complete: () => {},
      },
    );
  }

  dispose(): void {
    void this.ws.dispose();
  }
}
