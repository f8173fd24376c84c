// One graphql-ws client for tests: Node's ws, no retries, connected on first use, the API key in connection_init when there is one.
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';

export function testWsClient(wsUrl: string, apiKey: string | undefined, connectionParams?: Record<string, unknown>): Client {
  return createClient({
    url: wsUrl,
    webSocketImpl: WebSocket,
    connectionParams: connectionParams ?? (apiKey ? { apiKey } : undefined),
    retryAttempts: 0,
    lazy: true,
  });
}
