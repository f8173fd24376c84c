// Where containers reach the API: the address instances get as REACTOR_API, and the listener there that takes nothing but instance tokens.
import type { AddressInfo } from 'node:net';
import { createServer, type Server as HttpServer } from 'node:http';
import { bridgeGateway } from '../docker/gateway.js';
import { parseListen, type ListenAddress } from './listen.js';
import type { Logger } from '../log/logger.js';

/**
 * `--listen` is loopback by default, which a container cannot reach (its
 * 127.0.0.1 is its own), and `0.0.0.0` is not an address anyone can dial.
 * So the server also listens on Docker's bridge gateway (172.17.0.1 by
 * default), the one address of the host every container on the default
 * bridge reaches, and gives containers `REACTOR_API=http://<gateway>:<port>/graphql`
 * with their own `REACTOR_TOKEN`. That listener accepts only instance tokens,
 * and with them only setInstanceMetrics for the token's own instance: the API
 * key is refused there and never enters a container. It is reachable from
 * the containers and this host, not from the network outside (the bridge is
 * host-local), so it needs no API key to be safe.
 *
 * `--instance-listen` overrides the address (`HOST[:PORT]`) or turns it off
 * (`none`). The port defaults to the API's; if that is taken there, any free
 * port. When `--listen` already covers every address (0.0.0.0), no second
 * listener is opened: the API's own takes the tokens (and still the key).
 */
export type InstanceListenSetting = string | undefined;

export interface InstanceEndpoint {
  /** REACTOR_API for containers. */
  url: string;
  /** The listener opened for it; null when the API's own listener serves it (or none could be found). */
  server: HttpServer | null;
  /** The host name requests to it carry. */
  host: string;
}

const WILDCARDS = ['0.0.0.0', '::'];

/**
 * Opens the instance listener as `setting` says, or decides that the API's
 * listener serves containers. Null when containers have no address to reach
 * (no Docker bridge, or `none`): they then get the API's own URL.
 */
export async function openInstanceListener(
  setting: InstanceListenSetting,
  api: ListenAddress & { port: number },
  path: string,
  log: Logger,
): Promise<InstanceEndpoint | null> {
  if (setting === 'none') return null;
  let target: ListenAddress;
  if (setting !== undefined && setting !== 'auto') {
    target = /:\d+$/.test(setting) || setting.startsWith('[') ? parseListen(setting) : { host: setting, port: api.port };
  } else {
    const gateway = await bridgeGateway();
    if (gateway === null) {
      log.warn('instances: no Docker bridge gateway found; containers get the API address as REACTOR_API');
      return null;
    }
    target = { host: gateway, port: api.port };
  }
  const host = target.host.includes(':') ? `[${target.host}]` : target.host;
  if (WILDCARDS.includes(api.host)) return { url: `http://${host}:${api.port}${path}`, server: null, host: target.host };
  const server = createServer();
  let port: number;
  try {
    port = await listen(server, target.host, target.port);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE' || target.port === 0) throw error;
    port = await listen(server, target.host, 0);
  }
  return { url: `http://${host}:${port}${path}`, server, host: target.host };
}

function listen(server: HttpServer, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}
