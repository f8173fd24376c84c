// The options of one `reactor server` process (what the CLI's flags become), and the checks made before anything starts.
import { isIP } from 'node:net';
import { parseDockerEngine } from '../docker/engine.js';
import type { RetentionSettings } from '../config/retention.js';
import { badInput } from '../errors/codes.js';
import type { ApiLimits } from './limits.js';
import type { Logger } from '../log/logger.js';

export interface ServerOptions {
  /** host:port; default 127.0.0.1:8080. Port 0 picks a free port. */
  listen?: string;
  /** Where the SQLite store, nginx files and the manager id live. */
  dataDir: string;
  /** `sqlite:PATH` or `mongodb://…`; default sqlite in the data directory. */
  store?: string;
  /** Required when listening beyond loopback, and then at least 16 characters. */
  apiKey?: string;
  /** Stack traces in errors. */
  debug?: boolean;
  /** Name of the local manager; default the host name. */
  name?: string;
  /**
   * This host's address (`--address`): its manager's address, where its
   * containers' ports are published and where the other hosts' nginx reach
   * them (`<address>:<published port>`). Default 127.0.0.1.
   */
  address?: string;
  /** The Docker engine this host manages (`--docker unix:///…|tcp://host:port`); default DOCKER_HOST, else the local socket. */
  docker?: string;
  /** TLS cert directory (ca.pem, cert.pem, key.pem) for a tcp:// engine; default DOCKER_CERT_PATH, else ~/.docker. */
  dockerCertPath?: string;
  /** Slots of the local manager; default: the stored value, else 1000. */
  slots?: number;
  /** Seconds between evaluation rounds. */
  interval?: number;
  /** Run the local docker agent (default true). */
  agent?: boolean;
  /** Address the local nginx's endpoint servers listen on (default 0.0.0.0). */
  balancerAddress?: string;
  /** Seconds metric samples are kept (default 86400); the same as `retention.samples`. */
  metricsRetention?: number;
  /** Seconds each history is kept (`--retain-samples`, `--retain-decisions`, `--retain-events`). */
  retention?: Partial<RetentionSettings>;
  /** A holding decision identical to the last one kept is stored once every this many rounds (default 60). */
  decisionKeepEvery?: number;
  /** Origins whose pages may call the API from a browser, besides the server's own (`--allow-origin`). */
  allowOrigins?: string[];
  /** Host names clients may reach the server by, besides loopback and the listen address (`--allow-host`). */
  allowHosts?: string[];
  /** Bounds on work per request, connection and client (`--max-…`); see src/server/limits.ts. */
  limits?: Partial<ApiLimits>;
  /**
   * `RANGE=N` or `RANGE=unlimited` (`--max-connections-from`): the WebSockets
   * each address of an IP range may hold open, instead of
   * `limits.maxConnectionsPerClient`; see src/server/connection-budgets.ts.
   */
  maxConnectionsFrom?: string[];
  /**
   * Where containers reach the API (REACTOR_API): `auto` (default: Docker's
   * bridge gateway, at the API's port), `HOST[:PORT]`, or `none`. Only
   * instance tokens are accepted there. See src/server/instance-listener.ts.
   */
  instanceListen?: string;
  /**
   * On close, leave nginx serving its last good configuration (for the next
   * server on this data directory to adopt) instead of stopping it. The CLI
   * sets this unless `--stop-balancer-on-exit`; default false.
   */
  keepBalancerOnExit?: boolean;
  /** Where logs go; default a logger on standard error (JSON, or readable lines on a terminal). */
  log?: Logger;
}

/**
 * Fails with BAD_USER_INPUT, naming the flag, for a value the server cannot
 * use, before the store opens or anything listens.
 */
export function checkServerOptions(options: ServerOptions): void {
  if (options.address !== undefined) {
    const address = options.address.replace(/^\[|\]$/g, '');
    if (!isIP(address)) {
      throw badInput(`--address ${JSON.stringify(options.address)} is not an IP address; give the address other hosts reach this one on (for example 10.0.0.2)`, {
        field: 'address',
      });
    }
    if (address === '0.0.0.0' || address === '::') {
      throw badInput(`--address ${options.address} is no address another host can reach; give this host's own IP address (for example 10.0.0.2)`, {
        field: 'address',
      });
    }
  }
  if (options.balancerAddress !== undefined && !isIP(options.balancerAddress.replace(/^\[|\]$/g, ''))) {
    throw badInput(`--balancer-address ${JSON.stringify(options.balancerAddress)} is not an IP address (for example 0.0.0.0 or 127.0.0.2)`, {
      field: 'balancerAddress',
    });
  }
  if (options.agent !== false) parseDockerEngine(options.docker, { certPath: options.dockerCertPath });
}
