// The Lua balancer's peer list: which peers each URL group has, as the text the control server takes, with backend names resolved to addresses; and the model key a membership change leaves alone.
import { isIP } from 'node:net';
import { lookup } from 'node:dns/promises';
import { EventKinds } from '../model/events.js';
import { realTimers, type Timer, type Timers } from '../time/timers.js';
import { groupByUrl, type BalancedEndpoint } from './render.js';
import type { DriverReport } from './report.js';

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
 * `ip:port` here (see `PeerResolver`); others are left out and returned in
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

/** Resolves a host name to one address; rejects when it cannot. */
export type Lookup = (host: string) => Promise<string>;

const systemLookup: Lookup = async (host) => (await lookup(host)).address;

export interface PeerResolverOptions {
  /** Default: the system resolver (`dns.lookup`, as nginx would). */
  lookup?: Lookup;
  /** How long one push waits for a name; default 1000 ms. */
  timeoutMs?: number;
  /** Default: the process's own. */
  timers?: Timers;
}

/** A push's peers with names turned into addresses, and why each name that could not be is not. */
export interface ResolvedPeers {
  endpoints: BalancedEndpoint[];
  /** Host → why it was not resolved now; absent when it was, or when its last good address stood in. */
  unresolved: Map<string, string>;
  /** Host → the last good address used because this lookup failed or was late. */
  stale: Map<string, { address: string; reason: string }>;
}

/**
 * The Lua balancer dials addresses, not names (nginx resolves `server`
 * lines once, at load; the balancer phase cannot resolve at all). Backends
 * named by host (`static_instances=db.local:5432`) are resolved here, on
 * every push, to their first address. Pushes run one at a time, so a lookup
 * may hold one up for `timeoutMs` at most; a name that fails or is late
 * keeps the last address it resolved to (a DNS hiccup does not take a
 * serving backend out), and one never resolved is kept as is, which
 * `renderPeerList` leaves out (and the caller reports). A late lookup is
 * not started again while it is still pending, so a hung resolver cannot
 * fill libuv's thread pool; its answer is kept for the next push.
 */
export class PeerResolver {
  private readonly last = new Map<string, string>();
  private readonly pending = new Map<string, Promise<string | Error>>();
  private readonly lookup: Lookup;
  private readonly timeoutMs: number;
  private readonly timers: Timers;

  constructor(options: PeerResolverOptions = {}) {
    this.lookup = options.lookup ?? systemLookup;
    this.timeoutMs = options.timeoutMs ?? 1000;
    this.timers = options.timers ?? realTimers;
  }

  async resolve(endpoints: readonly BalancedEndpoint[]): Promise<ResolvedPeers> {
    const named = (address: string) => ADDRESS.test(address) && !isIP(hostOf(address));
    const hosts = new Set(endpoints.flatMap((e) => e.backends.filter((b) => named(b.address)).map((b) => hostOf(b.address))));
    const found = new Map<string, string>();
    const unresolved = new Map<string, string>();
    const stale = new Map<string, { address: string; reason: string }>();
    await Promise.all(
      [...hosts].map(async (host) => {
        const answer = await this.answer(host);
        if (typeof answer === 'string') return void found.set(host, answer);
        const last = this.last.get(host);
        if (last) {
          found.set(host, last);
          stale.set(host, { address: last, reason: answer.message });
        } else unresolved.set(host, answer.message);
      }),
    );
    const withAddress = (address: string): string => {
      const ip = named(address) ? found.get(hostOf(address)) : undefined;
      if (!ip) return address;
      const port = address.slice(address.lastIndexOf(':') + 1);
      return isIP(ip) === 6 ? `[${ip}]:${port}` : `${ip}:${port}`;
    };
    return {
      endpoints: endpoints.map((endpoint) =>
        endpoint.backends.some((b) => named(b.address))
          ? { ...endpoint, backends: endpoint.backends.map((b) => ({ ...b, address: withAddress(b.address) })) }
          : endpoint,
      ),
      unresolved,
      stale,
    };
  }

  /** The host's address now, or why not (an error of the resolver, or the timeout). */
  private async answer(host: string): Promise<string | Error> {
    let pending = this.pending.get(host);
    if (!pending) {
      pending = this.lookup(host)
        .then((address) => {
          if (!isIP(address)) throw new Error(`the resolver answered ${JSON.stringify(address)}, not an address`);
          // Kept even when it comes after this push gave up: the next push uses it.
          this.last.set(host, address);
          return address;
        })
        .catch((error: unknown) => (error instanceof Error ? error : new Error(String(error))))
        .finally(() => this.pending.delete(host));
      this.pending.set(host, pending);
    }
    let timer: Timer | undefined;
    const late = new Promise<Error>((done) => {
      timer = this.timers.setTimeout(() => done(new Error(`no answer within ${this.timeoutMs} ms`)), this.timeoutMs);
    });
    try {
      return await Promise.race([pending, late]);
    } finally {
      timer?.cancel();
    }
  }
}

/** Why `address` of a dropped peer is not in the list. */
function whyDropped(address: string, unresolved: ReadonlyMap<string, string>): string {
  if (!ADDRESS.test(address)) return 'not a host:port address';
  return `${hostOf(address)} does not resolve (${unresolved.get(hostOf(address)) ?? 'no address'})`;
}

/**
 * The reports of peers left out of the list (one per endpoint), for those
 * not in `before` (`endpoint address` strings already reported): a name
 * that stays unresolvable is reported once, not on every push. Returns the
 * reports and the set to pass as `before` next time.
 */
export function droppedReports(
  dropped: readonly { endpoint: string; address: string }[],
  unresolved: ReadonlyMap<string, string>,
  before: ReadonlySet<string>,
): { reports: DriverReport[]; now: Set<string> } {
  const now = new Set(dropped.map((d) => `${d.endpoint} ${d.address}`));
  const fresh = new Map<string, string[]>();
  for (const d of dropped) {
    if (before.has(`${d.endpoint} ${d.address}`)) continue;
    fresh.set(d.endpoint, [...(fresh.get(d.endpoint) ?? []), d.address]);
  }
  const reports = [...fresh].map(([endpoint, addresses]): DriverReport => ({
    endpoints: [endpoint],
    kind: EventKinds.BALANCER_PEER_DROPPED,
    message: `nginx sends no traffic of ${endpoint} to ${addresses.map((a) => `${a}: ${whyDropped(a, unresolved)}`).join('; ')}`,
    data: { addresses },
  }));
  return { reports, now };
}
