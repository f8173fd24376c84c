// Origin and Host checks on every HTTP request and WebSocket upgrade: no cross-site control, no DNS rebinding.
import type { IncomingMessage } from 'node:http';
import { networkInterfaces, hostname } from 'node:os';

/**
 * A page on another site can open `ws://127.0.0.1:8080/graphql` (browsers do
 * not apply the same-origin policy to WebSockets) and send mutations, and a
 * DNS-rebinding page can even reach it by a name it controls. So:
 *
 * - `Host` must be a name the server listens as: the loopback names
 *   (localhost, 127.0.0.1, ::1), the address it listens on, every address of
 *   this machine when it listens on all of them, its host name, and the names
 *   given with `--allow-host`. The port is not compared (a proxy may change it).
 * - `Origin`, when there is one, must be the server's own (the explorer and
 *   the dashboard are served from the same address: same scheme-less
 *   host:port as `Host`) or one listed with `--allow-origin`. Clients that send
 *   no Origin (the CLI, scripts, containers) are not browsers and pass.
 *   `Origin: null` (sandboxed frames, file: pages) is refused.
 */
export interface GuardOptions {
  /** The address the server listens on (`--listen`'s host). */
  listenHost: string;
  /** Extra names clients may use in Host (`--allow-host`). */
  allowHosts?: readonly string[];
  /** Extra origins allowed to call the API from a browser (`--allow-origin`), e.g. https://ops.example.com. */
  allowOrigins?: readonly string[];
}

export interface Refusal {
  /** HTTP status: 403 for a foreign Origin, 421 (misdirected) for a Host the server is not. */
  status: number;
  message: string;
}

const LOOPBACK_NAMES = ['localhost', '127.0.0.1', '::1'];
const WILDCARDS = ['0.0.0.0', '::', ''];

/** The host part of a Host header value (`name:port`, `[v6]:port`), lower-cased, without brackets or port. */
export function hostOf(value: string): string {
  const trimmed = value.trim().toLowerCase();
  if (trimmed.startsWith('[')) return trimmed.slice(1, trimmed.indexOf(']') < 0 ? undefined : trimmed.indexOf(']'));
  const colon = trimmed.lastIndexOf(':');
  const name = colon >= 0 && trimmed.indexOf(':') === colon ? trimmed.slice(0, colon) : trimmed; // else a bare IPv6 address, or no port
  return name.replace(/\.$/, ''); // `localhost.` is localhost
}

/** The names a server listening on `listenHost` answers as, besides the configured ones. */
export function listeningNames(listenHost: string): Set<string> {
  const names = new Set<string>(LOOPBACK_NAMES);
  const host = listenHost.replace(/^\[|\]$/g, '').toLowerCase();
  if (WILDCARDS.includes(host)) {
    for (const addresses of Object.values(networkInterfaces())) for (const address of addresses ?? []) names.add(address.address.toLowerCase());
    names.add(hostname().toLowerCase());
  } else {
    names.add(host);
  }
  return names;
}

export class RequestGuard {
  private readonly hosts: Set<string>;
  private readonly origins: Set<string>;

  constructor(options: GuardOptions) {
    this.hosts = listeningNames(options.listenHost);
    for (const name of options.allowHosts ?? []) this.hosts.add(hostOf(name));
    this.origins = new Set((options.allowOrigins ?? []).map((origin) => origin.trim().replace(/\/+$/, '').toLowerCase()));
  }

  /** Adds a name the server also listens as (the address containers reach it on). */
  addHost(name: string): void {
    this.hosts.add(hostOf(name));
  }

  /** Why this request must be refused, or null when it may go on. */
  check(request: Pick<IncomingMessage, 'headers'>): Refusal | null {
    const host = request.headers.host;
    if (typeof host !== 'string' || host === '') {
      return { status: 421, message: 'the request has no Host header; send the address you reach this server by' };
    }
    const name = hostOf(host);
    if (!this.hosts.has(name)) {
      return {
        status: 421,
        message: `Host "${clip(host)}" is not a name this server listens as (${[...this.hosts].slice(0, 6).join(', ')}…); start the server with --allow-host ${clip(name)} to allow it`,
      };
    }
    const origin = request.headers.origin;
    if (origin === undefined) return null;
    const normalized = origin.trim().replace(/\/+$/, '').toLowerCase();
    if (this.origins.has(normalized)) return null;
    const sameOrigin = /^https?:\/\/(.+)$/.exec(normalized)?.[1];
    if (sameOrigin !== undefined && sameOrigin === host.trim().toLowerCase()) return null;
    return {
      status: 403,
      message: `Origin "${clip(origin)}" may not use this API: only pages served by this server, and origins listed with --allow-origin, may call it from a browser`,
    };
  }
}

function clip(text: string): string {
  return text.length > 100 ? `${text.slice(0, 100)}…` : text;
}
