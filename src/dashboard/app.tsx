// Browser entry of the Reactor dashboard: the API key, the header, and the two pages (overview at /, one endpoint at /endpoints/NAME), routed in the browser.
import { useCallback, useEffect, useMemo, useState, type MouseEvent } from 'react';
import { createRoot } from 'react-dom/client';
import { initialApiKey, storeApiKey } from '../web/api-key.js';
import { ApiKeyField } from '../web/api-key-field.js';
import { Api, ApiError } from './api.js';
import { EndpointPage } from './endpoint-page.js';
import { Overview } from './overview.js';
import './dashboard.css';

/** The page a path names: the overview, or one endpoint. */
type Route = { page: 'overview' } | { page: 'endpoint'; name: string };

function routeOf(pathname: string): Route {
  const match = /^\/endpoints\/([^/]+)\/?$/.exec(pathname);
  return match ? { page: 'endpoint', name: decodeURIComponent(match[1]!) } : { page: 'overview' };
}

/** Follows in-page links (`<a data-route>`) without reloading; the back button works. */
function useRoute(): [Route, (path: string) => void] {
  const [route, setRoute] = useState(() => routeOf(location.pathname));
  useEffect(() => {
    const pop = () => setRoute(routeOf(location.pathname));
    addEventListener('popstate', pop);
    return () => removeEventListener('popstate', pop);
  }, []);
  const go = useCallback((path: string) => {
    history.pushState(null, '', path);
    setRoute(routeOf(path));
    scrollTo(0, 0);
  }, []);
  return [route, go];
}

/** The refusal of a missing or wrong key, in words an operator can act on. */
function KeyNeeded(props: { error: ApiError; apiKey: string; onKey(key: string): void }) {
  return (
    <section className="key-needed" role="alert">
      <h2>{props.apiKey ? 'The server refused this API key' : 'This server needs an API key'}</h2>
      <p>
        The server said: <q>{props.error.message}</q>
      </p>
      <p>Enter the key the server was started with (--api-key or REACTOR_API_KEY). It is kept in this browser, for the dashboard and the explorer.</p>
      <ApiKeyField apiKey={props.apiKey} onChange={props.onKey} className="key-form" autoFocus />
    </section>
  );
}

function Dashboard() {
  const [apiKey, setApiKey] = useState(initialApiKey);
  const [refused, setRefused] = useState<ApiError | null>(null);
  const api = useMemo(() => new Api(apiKey, (error) => setRefused(error)), [apiKey]);
  useEffect(() => () => api.dispose(), [api]);
  const [route, go] = useRoute();
  const changeKey = (key: string) => {
    storeApiKey(key);
    setRefused(null);
    setApiKey(key);
  };
  // A refused key stops the pages (they would only repeat the refusal) until a new one is given.
  const onError = useCallback((error: ApiError) => {
    if (error.unauthenticated) setRefused(error);
  }, []);

  const onLink = (event: MouseEvent) => {
    const link = (event.target as HTMLElement).closest('a[data-route]');
    if (!link || event.metaKey || event.ctrlKey || event.shiftKey || event.button !== 0) return;
    event.preventDefault();
    go(link.getAttribute('href')!);
  };

  return (
    <div className="dashboard" onClick={onLink}>
      <header className="top">
        <a href="/" data-route className="brand">
          Reactor
        </a>
        <nav>
          <a href="/" data-route className={route.page === 'overview' ? 'current' : ''}>
            Overview
          </a>
          {route.page === 'endpoint' && <span className="crumb">/ {route.name}</span>}
        </nav>
        <span className="spacer" />
        <a href="/graphql" className="explorer-link" title="GraphiQL: every query, mutation and subscription the dashboard uses, to run by hand">
          GraphQL explorer
        </a>
        <ApiKeyField apiKey={apiKey} onChange={changeKey} />
      </header>
      <main>
        {refused ? (
          <KeyNeeded error={refused} apiKey={apiKey} onKey={changeKey} />
        ) : route.page === 'overview' ? (
          <Overview api={api} onError={onError} />
        ) : (
          <EndpointPage key={route.name} api={api} name={route.name} onError={onError} />
        )}
      </main>
    </div>
  );
}

const root = document.getElementById('root');
if (!root) throw new Error('Reactor dashboard: the page has no #root element');
createRoot(root).render(<Dashboard />);
