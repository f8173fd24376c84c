// The Lua balancer's peer list: which peers each URL group has, as the text the control server takes; and the model key a membership change leaves alone.
import { isIP } from 'node:net';
import { lookup } from 'node:dns/promises';
import { groupByUrl, type BalancedEndpoint } from './render.js';

/**
 * What the server blocks depend on: the endpoints without their backends,
 * weights and activator fallback (all in the peer list). Two models with the same structure key differ
 * only in membership, which the Lua balancer takes without a reload.
 */
export function structureKey(endpoints: readonly BalancedEndpoint[]): string {
  return JSON.stringify(
    [...endpoints]
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
      .map(({ backends: _backends, fallback: _fallback, weight: _weight, ...rest }) => rest),
  );
}

const ADDRESS = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+):\d{1,5}$/;

/**
 * The peer list (format in src/nginx/lua-balancer.ts): one `upstream` per
 * URL group, keyed by its URL key, then `sticky`, `fallback` and one `peer
 * address weight` per backend. Every group appears, even with no peer, so
 * the Lua side can tell "nobody serves" from "unknown". Addresses must be
 * `ip:port` here (see `resolvePeers`); others are left out and returned in
 * `dropped`.
 */
export function renderPeerList(endpoints: readonly BalancedEndpoint[]): { text: string; dropped: { endpoint: string; address: string }[] } {
  const lines: string[] = [];
  const dropped: { endpoint: string; address: string }[] = [];
  for (const group of groupByUrl(endpoints)) {
    lines.push(`upstream ${group.key}`);
    if (group.nginx.stickySessions) lines.push('sticky');
    if (group.fallback && ADDRESS.test(group.fallback)) lines.push(`fallback ${group.fallback}`);
    for (const server of group.servers) {
      if (ADDRESS.test(server.address) && isIP(hostOf(server.address))) lines.push(`peer ${server.address} ${server.weight}`);
      else dropped.push({ endpoint: group.names[0], address: server.address });
    }
  }
  return { text: lines.length > 0 ? `${lines.join('\n')}\n` : '', dropped };
}

function hostOf(address: string): string {
  const host = address.slice(0, address.lastIndexOf(':'));
  return host.startsWith('[') ? host.slice(1, -1) : host;
}

/**
 * The Lua balancer dials addresses, not names (nginx resolves `server`
 * lines once, at load; the balancer phase cannot resolve at all). Backends
 * named by host (`static_instances=db.local:5432`) are resolved here, on
 * every push, to their first address; a name that does not resolve is kept
 * as is, and `renderPeerList` leaves it out.
 */
export async function resolvePeers(endpoints: readonly BalancedEndpoint[]): Promise<BalancedEndpoint[]> {
  const cache = new Map<string, Promise<string | null>>();
  const resolveHost = (host: string) => {
    let answer = cache.get(host);
    if (!answer) {
      answer = lookup(host).then((found) => found.address, () => null);
      cache.set(host, answer);
    }
    return answer;
  };
  const resolveAddress = async (address: string): Promise<string> => {
    const host = hostOf(address);
    if (isIP(host) || !ADDRESS.test(address)) return address;
    const ip = await resolveHost(host);
    if (!ip) return address;
    const port = address.slice(address.lastIndexOf(':') + 1);
    return isIP(ip) === 6 ? `[${ip}]:${port}` : `${ip}:${port}`;
  };
  return Promise.all(
    endpoints.map(async (endpoint) => {
      if (endpoint.backends.every((b) => isIP(hostOf(b.address)) || !ADDRESS.test(b.address))) return endpoint;
      const backends = await Promise.all(endpoint.backends.map(async (b) => ({ ...b, address: await resolveAddress(b.address) })));
      return { ...endpoint, backends };
    }),
  );
}
