// Renders the whole nginx.conf of Reactor's private nginx from the balanced endpoints: a pure function, table-tested.
import type { NginxSection } from '../config/model.js';
import type { EndpointUrl } from '../config/values.js';
import type { Backend } from '../endpoints/backends.js';
import { LOG_FIELDS, LOG_MARKER } from '../model/access-log.js';
import { CONTROL_TOKEN_FILE } from './control-token.js';
import { CONTROL_PEERS_PATH, LUA_MODULE, PEERS_DICT, PEERS_FILE, type LuaSetup } from './lua-balancer.js';

/** An endpoint as the balancer sees it: where it is served, how, and by whom. */
export interface BalancedEndpoint {
  name: string;
  url: EndpointUrl;
  nginx: NginxSection;
  /** Relative weight of this endpoint's backends when several endpoints share one URL. */
  weight: number;
  /** Backends in rotation; empty = nobody serves (the fallback, else redirect or 502). */
  backends: Backend[];
  /**
   * `host:port` nginx sends requests to while `backends` is empty (the host's
   * activator, which holds them until an instance serves); absent = redirect or 502.
   * nginx names the endpoint to it in the `X-Reactor-Endpoint` header.
   */
  fallback?: string;
}

export interface CertificatePair {
  certificate: string;
  key: string;
}

export interface RenderOptions {
  /** nginx prefix directory (absolute): pid, logs and temp paths live under it. */
  prefix: string;
  /** Address every endpoint server listens on (`0.0.0.0`, `127.0.0.1`, `::`). */
  listenAddress: string;
  /** UDP port on 127.0.0.1 where access log lines are sent (syslog). */
  syslogPort: number;
  /** Loopback port of the control server (generation and stub_status). */
  controlPort: number;
  /** Increases with every rendered candidate; the control server answers it so a reload can be confirmed. */
  generation: number;
  /** Used for TLS endpoints that name no certificate of their own (a generated self-signed pair). */
  defaultCertificate?: CertificatePair;
  /** `user` directive for the workers (only when nginx runs as root), e.g. `nobody nogroup`. */
  user?: string;
  workerProcesses?: number | 'auto';
  /**
   * The Lua balancer's modules. With it, membership lives in a shared dict
   * the driver pushes to (no reload); every URL group gets an upstream
   * whose peers Lua picks. Without it, `server` lines (a reload per change).
   */
  lua?: LuaSetup;
  workerConnections?: number;
}

export interface RenderedConfig {
  text: string;
  /**
   * Endpoint names that own each line (index 0 = line 1): an `nginx -t`
   * error that quotes a line number is turned into an event on the endpoints
   * that line belongs to. Lines shared by everything own nothing.
   */
  owners: string[][];
}

/** A value that cannot be written into nginx syntax safely. */
export class RenderProblem extends Error {
  constructor(
    readonly endpoint: string,
    message: string,
  ) {
    super(`${endpoint}: ${message}`);
    this.name = 'RenderProblem';
  }
}

/** The `log_format` every endpoint request is logged with; its line (marker and fields) is src/model/access-log.ts, which the traffic metrics read back. */
export const LOG_FORMAT_NAME = 'reactor';
/** Syslog tag of access log lines. */
export const SYSLOG_TAG = 'reactor';
/** Cookie that carries a client's sticky-session key. */
export const STICKY_COOKIE = 'reactor_sticky';
export const CONTROL_GENERATION_PATH = '/reactor/generation';
export const CONTROL_STATUS_PATH = '/reactor/status';
/** Request header that names the endpoint (group) to the fallback: its endpoint names, comma-separated. */
export const ENDPOINT_HEADER = 'X-Reactor-Endpoint';
/** nginx waits this long for the fallback's first byte: the longest hold_timeout (300 s), then the instance's own answer. */
const FALLBACK_READ_TIMEOUT = '360s';

/**
 * Endpoints that share one URL (scheme, host, port and path) are one group:
 * one upstream holding every backend of every member, each member's backends
 * weighted by its `weight`. The group's nginx options come from its first
 * member by name (deterministic; operators keep the members' options equal).
 */
export interface UrlGroup {
  key: string;
  url: EndpointUrl;
  /** Member names, sorted. */
  names: string[];
  nginx: NginxSection;
  tls: boolean;
  /** Backends merged by address; the same address in two members adds its weights. */
  servers: { address: string; weight: number }[];
  /** The first member's activator address, used while `servers` is empty. */
  fallback?: string;
  upstream: string;
}

export function urlKey(url: EndpointUrl): string {
  return `${url.scheme}://${url.host}:${url.port}${url.path}`;
}

export function groupByUrl(endpoints: readonly BalancedEndpoint[]): UrlGroup[] {
  const byKey = new Map<string, BalancedEndpoint[]>();
  for (const endpoint of [...endpoints].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    const key = urlKey(endpoint.url);
    const members = byKey.get(key);
    if (members) members.push(endpoint);
    else byKey.set(key, [endpoint]);
  }
  const keys = [...byKey.keys()].sort();
  return keys.map((key, index) => {
    const members = byKey.get(key)!;
    const first = members[0];
    const weights = new Map<string, number>();
    for (const member of members) {
      for (const backend of member.backends) {
        weights.set(backend.address, (weights.get(backend.address) ?? 0) + Math.max(1, Math.round(member.weight)));
      }
    }
    return {
      key,
      url: first.url,
      names: members.map((m) => m.name),
      nginx: first.nginx,
      tls: first.url.scheme === 'https' || first.nginx.ssl,
      servers: [...weights.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([address, weight]) => ({ address, weight })),
      fallback: members.find((m) => m.fallback)?.fallback,
      upstream: `reactor_${index + 1}`,
    };
  });
}

/** A quoted nginx string; refuses what quoting cannot make safe (variables, control characters). */
export function quote(endpoint: string, value: string): string {
  // eslint-disable-next-line no-control-regex
  if (/[$\x00-\x1f\x7f]/.test(value)) {
    throw new RenderProblem(endpoint, `value ${JSON.stringify(value)} contains "$" or a control character, which nginx would misread`);
  }
  return `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

const ADDRESS = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+):\d{1,5}$/;

function checkAddress(endpoint: string, address: string): string {
  if (!ADDRESS.test(address)) throw new RenderProblem(endpoint, `backend address ${JSON.stringify(address)} is not host:port`);
  return address;
}

function listenOn(address: string, port: number): string {
  return address.includes(':') && !address.startsWith('[') ? `[${address}]:${port}` : `${address}:${port}`;
}

class Lines {
  readonly lines: string[] = [];
  readonly owners: string[][] = [];
  push(line: string, owners: string[] = []): void {
    this.lines.push(line);
    this.owners.push(owners);
  }
}

/**
 * Every endpoint port's socket options (given once per port, with its
 * default server). `reuseport` lets a master started after one was killed
 * bind beside the dead one's workers, which go on serving until it is up:
 * a killed master then costs no refused connection.
 */
const REUSEPORT = 'reuseport';

/** nginx's temporary directories under our prefix (`<kind>_temp_path`): the driver creates them, the config points at them. */
export const NGINX_TEMP_KINDS = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'] as const;

/**
 * The whole configuration. Worked example: endpoints `web` (url
 * `http://shop.example:8080/api`, two instances) and `blog` (url `http://`,
 * none) give one upstream `reactor_2` with two servers, one server block on
 * 8080 named `shop.example` whose `location /api/` (and `= /api`) proxies to
 * it, a 404 default server on 8080, and a default server on 80 whose
 * `location /` answers 502 "no instance of blog is available" (or 301 to
 * `redirect` when set). Every endpoint location logs to the driver's syslog
 * port in the `reactor` format, tagged with the group's endpoint names.
 */
export function renderNginxConfig(endpoints: readonly BalancedEndpoint[], options: RenderOptions): RenderedConfig {
  const out = new Lines();
  const p = options.prefix.replace(/\/+$/, '');
  const groups = groupByUrl(endpoints);
  if (/[\s;{}"'$\\]/.test(p)) throw new RenderProblem('nginx', `prefix ${JSON.stringify(p)} contains characters nginx would misread`);

  out.push(`# Reactor's nginx configuration, generation ${options.generation}. Rendered by Reactor; edits are overwritten.`);
  out.push('daemon off;');
  out.push('master_process on;');
  if (options.user) out.push(`user ${options.user};`);
  out.push(`worker_processes ${options.workerProcesses ?? 'auto'};`);
  out.push(`pid ${p}/nginx.pid;`);
  for (const module of options.lua?.modules ?? []) {
    if (/[\s;{}"'$\\]/.test(module)) throw new RenderProblem('nginx', `module path ${JSON.stringify(module)} contains characters nginx would misread`);
    out.push(`load_module ${module};`);
  }
  out.push(`error_log ${p}/logs/error.log warn;`);
  out.push('');
  out.push(`events { worker_connections ${options.workerConnections ?? 4096}; }`);
  out.push('');
  out.push('http {');
  for (const kind of NGINX_TEMP_KINDS) {
    out.push(`    ${kind}_temp_path ${p}/temp/${kind};`);
  }
  out.push('    default_type text/plain;');
  out.push('    server_tokens off;');
  out.push('    sendfile on;');
  out.push('    tcp_nodelay on;');
  out.push('    keepalive_timeout 65s;');
  out.push('    server_names_hash_bucket_size 128;');
  out.push(`    log_format ${LOG_FORMAT_NAME} '${LOG_MARKER}|${LOG_FIELDS}';`);
  out.push(`    access_log syslog:server=127.0.0.1:${options.syslogPort},tag=${SYSLOG_TAG},nohostname ${LOG_FORMAT_NAME};`);
  out.push('');
  out.push('    # Sticky sessions: a client keeps the key in a cookie; a new client gets its request id as key.');
  out.push(`    map $cookie_${STICKY_COOKIE} $reactor_sticky_key { "" $request_id; default $cookie_${STICKY_COOKIE}; }`);
  out.push(`    map $cookie_${STICKY_COOKIE} $reactor_sticky_cookie { "" "${STICKY_COOKIE}=$request_id; Path=/; HttpOnly"; default ""; }`);
  out.push('    # Upstream keepalive needs an empty Connection header, WebSockets need "upgrade".');
  out.push('    map $http_upgrade $reactor_connection { default upgrade; "" ""; }');
  out.push('    proxy_http_version 1.1;');
  out.push('    proxy_set_header Host $host;');
  out.push('    proxy_set_header X-Real-IP $remote_addr;');
  out.push('    proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;');
  out.push('    proxy_set_header X-Forwarded-Proto $scheme;');
  out.push('    proxy_set_header X-Forwarded-Host $http_host;');
  out.push('    proxy_set_header Upgrade $http_upgrade;');
  out.push('    proxy_set_header Connection $reactor_connection;');
  out.push(`    proxy_set_header ${ENDPOINT_HEADER} $reactor_endpoint;`);
  out.push('    proxy_connect_timeout 5s;');
  out.push('    proxy_next_upstream error timeout;');
  if (options.lua) {
    out.push('    # Lua balancer: peers live in a shared dict (src/nginx/lua-balancer.ts); the master loads the last list at start and reload.');
    out.push(`    lua_package_path "${p}/lua/?.lua;;";`);
    out.push(`    lua_shared_dict ${PEERS_DICT} 32m;`);
    out.push(`    init_by_lua_block { local reactor = require("${LUA_MODULE}"); reactor.load_token("${p}/${CONTROL_TOKEN_FILE}"); reactor.load_file("${p}/${PEERS_FILE}") }`);
  }

  // Upstreams: one per URL group that has backends (with Lua: one per URL group, its peers pushed).
  for (const group of groups) {
    if (group.servers.length === 0 && !group.fallback && !options.lua) continue;
    const own = group.names;
    out.push('', own);
    out.push(`    # endpoints: ${group.names.join(', ')} (${group.key})`, own);
    out.push(`    upstream ${group.upstream} {`, own);
    if (options.lua) {
      out.push('        server 0.0.0.1;  # never dialled: the Lua balancer sets each peer', own);
      // Before keepalive: the keepalive module wraps whichever balancer is set when it is read.
      out.push(`        balancer_by_lua_block { require("${LUA_MODULE}").balance(${luaString(group.names[0], group.key)}) }`, own);
    } else if (group.servers.length === 0) {
      // No instance serves: the activator holds the requests until one does.
      out.push(`        server ${checkAddress(group.names[0], group.fallback!)} max_fails=0;`, own);
    } else {
      if (group.nginx.stickySessions) out.push('        hash $reactor_sticky_key consistent;', own);
      for (const server of group.servers) {
        out.push(`        server ${checkAddress(group.names[0], server.address)} weight=${server.weight} max_fails=1 fail_timeout=5s;`, own);
      }
    }
    if (group.nginx.keepalive > 0) {
      out.push(`        keepalive ${Math.floor(group.nginx.keepalive)};`, own);
      // Below the backend's idle timeout: nginx closes an idle connection before the backend can, so it never reuses a closed one.
      out.push(`        keepalive_timeout ${Math.floor(group.nginx.keepaliveTimeout)}s;`, own);
    }
    out.push('    }', own);
  }

  // Control server: loopback only, not logged.
  out.push('');
  out.push('    server {');
  out.push(`        listen 127.0.0.1:${options.controlPort};`);
  out.push('        access_log off;');
  out.push('        set $reactor_endpoint "";');
  out.push(`        location = ${CONTROL_GENERATION_PATH} { return 200 "${options.generation}\\n"; }`);
  out.push(`        location = ${CONTROL_STATUS_PATH} { stub_status; }`);
  if (options.lua) {
    out.push(`        location = ${CONTROL_PEERS_PATH} {`);
    // A peer line is ~30 bytes: 4 MB is some 130,000 peers, held in memory (never a temp file).
    out.push('            client_max_body_size 4m;');
    out.push('            client_body_buffer_size 4m;');
    out.push(`            content_by_lua_block { require("${LUA_MODULE}").receive() }`);
    out.push('        }');
  }
  out.push('        location / { return 404; }');
  out.push('    }');

  // Endpoint servers: by port, then by host ('' = the port's default server).
  const ports = [...new Set(groups.map((g) => g.url.port))].sort((a, b) => a - b);
  for (const port of ports) {
    const onPort = groups.filter((g) => g.url.port === port);
    const portTls = onPort.some((g) => g.tls);
    const hosts = [...new Set(onPort.map((g) => g.url.host))].sort();
    for (const host of hosts) {
      const inServer = onPort.filter((g) => g.url.host === host).sort((a, b) => (a.url.path < b.url.path ? -1 : 1));
      const serverOwners = [...new Set(inServer.flatMap((g) => g.names))].sort();
      const first = inServer[0];
      const tls = inServer.some((g) => g.tls);
      out.push('', serverOwners);
      out.push('    server {', serverOwners);
      out.push(
        `        listen ${listenOn(options.listenAddress, port)}${tls ? ' ssl' : ''}${host === '' ? ` default_server ${REUSEPORT}` : ''};`,
        serverOwners,
      );
      out.push(`        server_name ${host === '' ? '""' : quote(first.names[0], host)};`, serverOwners);
      if (tls) {
        const withTls = inServer.find((g) => g.tls)!;
        const pair = certificateOf(withTls, options.defaultCertificate);
        out.push(`        ssl_certificate ${quote(withTls.names[0], pair.certificate)};`, withTls.names);
        out.push(`        ssl_certificate_key ${quote(withTls.names[0], pair.key)};`, withTls.names);
      }
      for (const group of inServer) renderLocations(out, group, options.lua !== undefined);
      if (!inServer.some((g) => g.url.path === '/')) {
        // Paths no endpoint of this host serves: a 404, never nginx's own document root.
        out.push('        location / {', serverOwners);
        out.push('            set $reactor_endpoint "";', serverOwners);
        out.push('            return 404 "no endpoint is served at this path\\n";', serverOwners);
        out.push('        }', serverOwners);
      }
      out.push('    }', serverOwners);
    }
    if (!hosts.includes('')) {
      // Requests for a host no endpoint serves get a 404, not some other endpoint's site.
      out.push('');
      out.push('    server {');
      out.push(`        listen ${listenOn(options.listenAddress, port)}${portTls ? ' ssl' : ''} default_server ${REUSEPORT};`);
      out.push('        server_name _;');
      if (portTls) out.push('        ssl_reject_handshake on;');
      out.push('        access_log off;');
      out.push('        set $reactor_endpoint "";');
      out.push('        location / { return 404 "no endpoint is served at this host name\\n"; }');
      out.push('    }');
    }
  }
  out.push('}');
  return { text: `${out.lines.join('\n')}\n`, owners: out.owners };
}

function certificateOf(group: UrlGroup, fallback: CertificatePair | undefined): CertificatePair {
  const { sslCertificate, sslKey } = group.nginx;
  if (sslCertificate && sslKey) return { certificate: sslCertificate, key: sslKey };
  if (sslCertificate || sslKey) {
    throw new RenderProblem(group.names[0], 'ssl_certificate and ssl_key must be given together (or neither, for a generated self-signed pair)');
  }
  if (!fallback) throw new RenderProblem(group.names[0], 'TLS needs a certificate and none was given or generated');
  return fallback;
}

/** A double-quoted Lua string; refuses what quote() refuses. */
export function luaString(endpoint: string, value: string): string {
  return quote(endpoint, value);
}

function renderLocations(out: Lines, group: UrlGroup, lua: boolean): void {
  const own = group.names;
  const label = group.names.join(',');
  const path = group.url.path;
  // `/api` serves /api and /api/…, never /apiary.
  const locations =
    path === '/' || path.endsWith('/') ? [path] : [`= ${path}`, `${path}/`];
  for (const location of locations) {
    const [modifier, value] = location.startsWith('= ') ? ['= ', location.slice(2)] : ['', location];
    out.push(`        location ${modifier}${quote(group.names[0], value)} {`, own);
    out.push(`            set $reactor_endpoint ${quote(group.names[0], label)};`, own);
    if (lua) {
      // Nobody to serve (and no activator): 301 to `redirect` or 502, decided per request from the pushed peers.
      const message = `no instance of ${label} is available`;
      const args = [group.key, group.nginx.redirect, message].map((v) => luaString(group.names[0], v)).join(', ');
      out.push(`            access_by_lua_block { require("${LUA_MODULE}").admit(${args}) }`, own);
      if (group.nginx.stickySessions) out.push('            add_header Set-Cookie $reactor_sticky_cookie;', own);
      // Whether the activator may hold this endpoint's requests is in the pushed peers, not in this text (no reload
      // when it changes), so every location waits as long as a held request may take.
      out.push(`            proxy_read_timeout ${FALLBACK_READ_TIMEOUT};`, own);
      out.push(`            proxy_pass http://${group.upstream};`, own);
    } else if (group.servers.length > 0) {
      if (group.nginx.stickySessions) out.push('            add_header Set-Cookie $reactor_sticky_cookie;', own);
      out.push(`            proxy_pass http://${group.upstream};`, own);
    } else if (group.fallback) {
      out.push(`            proxy_read_timeout ${FALLBACK_READ_TIMEOUT};`, own);
      out.push(`            proxy_pass http://${group.upstream};`, own);
    } else if (group.nginx.redirect) {
      out.push(`            return 301 ${quote(group.names[0], group.nginx.redirect)};`, own);
    } else {
      const message = quote(group.names[0], `no instance of ${label} is available`);
      out.push(`            return 502 ${message.slice(0, -1)}\\n";`, own);
    }
    out.push('        }', own);
  }
}
