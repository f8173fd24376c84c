// Browser entry of the Reactor explorer: GraphiQL talking to /graphql, queries over HTTP, subscriptions over graphql-ws, with the API key on both.
import { useEffect, useMemo, useState, type FormEvent } from 'react';
import { createRoot } from 'react-dom/client';
import { GraphiQL } from 'graphiql';
import { createGraphiQLFetcher, type Fetcher, type FetcherOpts, type FetcherParams } from '@graphiql/toolkit';
import { createClient } from 'graphql-ws';
import { Kind, parse, type DocumentNode, type OperationDefinitionNode } from 'graphql';
import 'graphiql/style.css';
import './explorer.css';

/** localStorage key under which the operator's API key is remembered. */
const API_KEY_STORAGE = 'reactor.apiKey';

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

function readStoredApiKey(): string {
  try {
    return localStorage.getItem(API_KEY_STORAGE) ?? '';
  } catch {
    return ''; // storage disabled (private mode, policy): the key lives only in memory
  }
}

function storeApiKey(key: string): void {
  try {
    if (key) localStorage.setItem(API_KEY_STORAGE, key);
    else localStorage.removeItem(API_KEY_STORAGE);
  } catch {
    // storage disabled: nothing to remember it in
  }
}

/**
 * The key from `?apiKey=…` wins over the stored one and is remembered; it is
 * then removed from the address bar so it does not linger in history,
 * bookmarks or screenshots.
 */
function initialApiKey(): string {
  const url = new URL(location.href);
  const fromUrl = url.searchParams.get('apiKey');
  if (fromUrl === null) return readStoredApiKey();
  storeApiKey(fromUrl);
  url.searchParams.delete('apiKey');
  history.replaceState(history.state, '', url.pathname + url.search + url.hash);
  return fromUrl;
}

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

function ApiKeyField(props: { apiKey: string; onChange(key: string): void }) {
  const [draft, setDraft] = useState(props.apiKey);
  useEffect(() => setDraft(props.apiKey), [props.apiKey]);
  const submit = (event: FormEvent) => {
    event.preventDefault();
    props.onChange(draft.trim());
  };
  const dirty = draft.trim() !== props.apiKey;
  return (
    <form className="reactor-api-key" onSubmit={submit} title="Sent as X-Auth-Key over HTTP and in the WebSocket connection_init payload; remembered in this browser.">
      <label htmlFor="reactor-api-key">API key</label>
      <input
        id="reactor-api-key"
        type="password"
        autoComplete="off"
        spellCheck={false}
        placeholder={props.apiKey ? '' : 'none'}
        value={draft}
        onChange={(event) => setDraft(event.target.value)}
      />
      <button type="submit" disabled={!dirty}>{draft.trim() || !props.apiKey ? 'Use' : 'Forget'}</button>
    </form>
  );
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
        </div>
      </GraphiQL.Logo>
    </GraphiQL>
  );
}

const root = document.getElementById('root');
if (!root) throw new Error('Reactor explorer: the page has no #root element');
createRoot(root).render(<Explorer />);
