// Parsed endpoint configurations by their INI text: the control loop and the sampler read every endpoint's stored config every interval.
import { parseEndpointConfig } from './endpoint.js';
import type { EndpointConfig } from './model.js';

/** Distinct texts kept; past this the cache starts over (texts change rarely, endpoints are few thousand at most). */
const MAX_ENTRIES = 20_000;
const cache = new Map<string, EndpointConfig>();

/**
 * `parseEndpointConfig` of a stored (already validated) text, remembered by
 * the text itself, so a changed config is simply a new key. Callers share
 * the returned object and must not modify it. Parse errors are not cached:
 * they throw every time, as they should.
 */
export function parseEndpointConfigCached(text: string): EndpointConfig {
  const hit = cache.get(text);
  if (hit) return hit;
  const config = parseEndpointConfig(text);
  if (cache.size >= MAX_ENTRIES) cache.clear();
  cache.set(text, config);
  return config;
}
