// React hooks over the API: a subscription kept open while a page shows, and a ticking clock for ages.
import { useCallback, useEffect, useRef, useState } from 'react';
import type { Api, ApiError } from './api.js';

/**
 * Subscribes while the component is mounted (and again when `variables`
 * change), handing each item to the latest `onItem`.
 */
export function useSubscription<T>(
  api: Api,
  query: string,
  variables: Record<string, unknown>,
  onItem: (item: T) => void,
  onError: (error: ApiError) => void,
): void {
  const handlers = useRef({ onItem, onError });
  handlers.current = { onItem, onError };
  const key = JSON.stringify(variables);
  useEffect(
    () =>
      api.subscribe<T>(
        query,
        variables,
        (item) => handlers.current.onItem(item),
        (error) => handlers.current.onError(error),
      ),
    // eslint-disable-next-line react-hooks/exhaustive-deps
    [api, query, key],
  );
}

/** The time now, renewed every `everyMs`, so ages on screen move on their own. */
export function useNow(everyMs = 1000): number {
  const [now, setNow] = useState(Date.now);
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), everyMs);
    return () => clearInterval(timer);
  }, [everyMs]);
  return now;
}

/** Calls `fn` at most once per `ms`, the last call winning (several events in a burst make one reload). */
export function useDebounced(fn: () => void, ms: number): () => void {
  const latest = useRef(fn);
  latest.current = fn;
  const timer = useRef<ReturnType<typeof setTimeout> | null>(null);
  useEffect(() => () => void (timer.current && clearTimeout(timer.current)), []);
  return useRef(() => {
    if (timer.current) return;
    timer.current = setTimeout(() => {
      timer.current = null;
      latest.current();
    }, ms);
  }).current;
}

/**
 * A page's last API error: `fail` shows it on the page and hands it to
 * `onError` (which asks for a key when the server refused one); `clear` hides it.
 */
export function useApiError(onError: (error: ApiError) => void): { error: ApiError | null; fail: (error: ApiError) => void; clear: () => void } {
  const [error, setError] = useState<ApiError | null>(null);
  const fail = useCallback(
    (e: ApiError) => {
      setError(e);
      onError(e);
    },
    [onError],
  );
  const clear = useCallback(() => setError(null), []);
  return { error, fail, clear };
}
