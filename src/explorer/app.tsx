// Browser entry of the Reactor explorer: GraphiQL talking to /graphql, queries over HTTP, subscriptions over graphql-ws, with the API key on both.
import { useEffect, useMemo, useState } from 'react';
import { createRoot } from 'react-dom/client';
import { GraphiQL } from 'graphiql';
import { createGraphiQLFetcher, type Fetcher, type FetcherOpts, type FetcherParams } from '@graphiql/toolkit';
import { createClient } from 'graphql-ws';
import { Kind, parse, type DocumentNode, type OperationDefinitionNode } from 'graphql';
import 'graphiql/style.css';
import './explorer.css';
import { initialApiKey, storeApiKey } from '../web/api-key.js';
import { ApiKeyField } from '../web/api-key-field.js';

const DEFAULT_QUERY = `# Queries and mutations run over HTTP,
# subscriptions over a WebSocket. Try (latest: true shows
# each endpoint's current sample at once, then every new one):
# subscription { metricSamples(latest: true) { endpoint at metrics } }

{
  version
  endpoints {
    name
    state
  }
}
`;

function operationsOf(document: DocumentNode): OperationDefinitionNode[] {
  return document.definitions.filter((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION);
}

/**
 * GraphiQL hands the fetcher the document and operation name it parsed last,
 * which lag behind the editor text for a moment after typing; the toolkit
 * uses that document to choose WebSocket or HTTP. Parsing the text actually
 * sent keeps a freshly typed subscription off HTTP.
 */
function withCurrentDocument(params: FetcherParams, opts: FetcherOpts | undefined): [FetcherParams, FetcherOpts] {
  let documentAST: DocumentNode;
  try {
    documentAST = parse(params.query);
  } catch {
    return [params, { ...opts }]; // let the server report the syntax error
  }
  const operations = operationsOf(documentAST);
  const names = operations.map((op) => op.name?.value);
  let operationName = params.operationName;
  if (operations.length === 1 && !names.includes(operationName ?? undefined)) {
    operationName = names[0] ?? null; // a stale name from the previous text
  }
  return [{ ...params, operationName }, { ...opts, documentAST }];
}

interface Connection {
  fetcher: Fetcher;
  dispose(): void;
}

function connect(apiKey: string): Connection {
  const wsUrl = new URL('/graphql', location.href);
  wsUrl.protocol = location.protocol === 'https:' ? 'wss:' : 'ws:';
  const wsClient = createClient({
    url: wsUrl.href,
    connectionParams: () => (apiKey ? { apiKey } : {}),
  });
  const base = createGraphiQLFetcher({
    url: location.origin + '/graphql',
    wsClient,
    // Sent on every HTTP request; a header typed in GraphiQL's headers editor overrides it.
    headers: apiKey ? { 'X-Auth-Key': apiKey } : undefined,
  });
  const fetcher: Fetcher = (params, opts) => {
    if (params.operationName === 'IntrospectionQuery') return base(params, opts);
    const [current, currentOpts] = withCurrentDocument(params, opts);
    return base(current, currentOpts);
  };
  return { fetcher, dispose: () => void wsClient.dispose() };
}

function Explorer() {
  const [apiKey, setApiKey] = useState(initialApiKey);
  const connection = useMemo(() => connect(apiKey), [apiKey]);
  useEffect(() => () => connection.dispose(), [connection]);
  const changeKey = (key: string) => {
    storeApiKey(key);
    setApiKey(key);
  };
  return (
    <GraphiQL fetcher={connection.fetcher} defaultQuery={DEFAULT_QUERY}>
      <GraphiQL.Logo>
        <div className="reactor-logo">
          <ApiKeyField apiKey={apiKey} onChange={changeKey} />
          <span className="reactor-title">Reactor explorer</span>
          <a className="reactor-dashboard-link" href="/" title="The live dashboard: endpoints, instances, metrics and decisions">Dashboard</a>
        </div>
      </GraphiQL.Logo>
    </GraphiQL>
  );
}

const root = document.getElementById('root');
if (!root) throw new Error('Reactor explorer: the page has no #root element');
createRoot(root).render(<Explorer />);
