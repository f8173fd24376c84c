// The CLI's GraphQL client: one POST per command, errors turned into one-line messages.

export interface ClientOptions {
  /** http://host:port/graphql */
  api: string;
  apiKey?: string;
  /** Per-request limit. */
  timeoutMs?: number;
}

/** A failure the CLI prints as one line and exits non-zero with. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly code = 'ERROR',
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

interface GraphQLResponse<T> {
  data?: T | null;
  errors?: { message: string; extensions?: { code?: string } }[];
}

export class GraphQLClient {
  constructor(private readonly options: ClientOptions) {}

  get api(): string {
    return this.options.api;
  }

  get apiKey(): string | undefined {
    return this.options.apiKey;
  }

  async request<T>(query: string, variables: Record<string, unknown> = {}): Promise<T> {
    let response: Response;
    try {
      response = await fetch(this.options.api, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'application/graphql-response+json, application/json',
          ...(this.options.apiKey ? { 'x-auth-key': this.options.apiKey } : {}),
        },
        body: JSON.stringify({ query, variables }),
        signal: AbortSignal.timeout(this.options.timeoutMs ?? 30_000),
      });
    } catch (error) {
      const cause = (error as { cause?: { code?: string } }).cause?.code ?? (error as Error).message;
      throw new CliError(`cannot reach the Reactor API at ${this.options.api} (${cause}); is \`reactor server\` running?`, 'UNAVAILABLE', 2);
    }
    let body: GraphQLResponse<T>;
    try {
      body = (await response.json()) as GraphQLResponse<T>;
    } catch {
      throw new CliError(`the Reactor API at ${this.options.api} answered HTTP ${response.status} without a GraphQL body`, 'UNAVAILABLE', 2);
    }
    const first = body.errors?.[0];
    if (first) throw new CliError(first.message, first.extensions?.code ?? 'ERROR');
    if (body.data == null) throw new CliError(`the Reactor API answered HTTP ${response.status} with no data`);
    return body.data;
  }
}
