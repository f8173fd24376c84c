// The operator's API key in the browser, shared by the explorer and the dashboard: asked once, kept in localStorage, taken from ?apiKey= and then removed from the address bar.

/** localStorage key under which the operator's API key is remembered (the explorer and the dashboard share it). */
export const API_KEY_STORAGE = 'reactor.apiKey';

export function readStoredApiKey(): string {
  try {
    return localStorage.getItem(API_KEY_STORAGE) ?? '';
  } catch {
    return ''; // storage disabled (private mode, policy): the key lives only in memory
  }
}

export function storeApiKey(key: string): void {
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
export function initialApiKey(): string {
  const url = new URL(location.href);
  const fromUrl = url.searchParams.get('apiKey');
  if (fromUrl === null) return readStoredApiKey();
  storeApiKey(fromUrl);
  url.searchParams.delete('apiKey');
  history.replaceState(history.state, '', url.pathname + url.search + url.hash);
  return fromUrl;
}
