// Pure mapping from an endpoint's [cloud:docker] options to dockerode create options: labels, ports, limits, user, environment, command.
import type Docker from 'dockerode';
import type { ContainerSpec } from '../agents/types.js';
import { parseCommand } from '../config/command.js';
import type { EndpointConfig } from '../config/model.js';
import { badInput } from '../errors/codes.js';

export { parseCommand };

/** Labels every Reactor container carries; a restarted agent finds its own containers by them. */
export const Labels = {
  endpoint: 'reactor.endpoint',
  manager: 'reactor.manager',
  instance: 'reactor.instance',
  slots: 'reactor.slots',
  port: 'reactor.port',
} as const;

/** Docker refuses memory limits under 6 MiB; saying so before the engine does names the key. */
export const MIN_MEMORY_BYTES = 6 * 1024 * 1024;

/** Where the agent publishes ports and which manager it labels containers for. */
export interface HostBinding {
  managerId: string;
  /** Host address published ports bind to (127.0.0.1 for the local agent). */
  address: string;
}

/** The spec of one instance of an endpoint. */
export function containerSpecFor(
  endpoint: string,
  config: EndpointConfig,
  instanceId: string,
  apiUrl: string,
  apiToken?: string,
): ContainerSpec {
  return {
    instanceId,
    endpoint,
    slots: config.docker.slots,
    port: config.endpoint.port,
    docker: config.docker,
    apiUrl,
    ...(apiToken ? { apiToken } : {}),
  };
}

/** Docker container name: readable in `docker ps`, unique by the instance id. */
export function containerName(spec: Pick<ContainerSpec, 'endpoint' | 'instanceId'>): string {
  return `reactor-${spec.endpoint}-${spec.instanceId}`;
}

/**
 * The container's environment: the endpoint's `environment`, plus PORT (the
 * backend port, unless the endpoint sets its own) and REACTOR_API,
 * REACTOR_ENDPOINT, REACTOR_INSTANCE and REACTOR_TOKEN (always ours, so an
 * instance can report custom metrics about itself: the token allows that and
 * nothing else; the API key never enters a container).
 */
export function containerEnvironment(spec: ContainerSpec): Record<string, string> {
  return {
    PORT: String(spec.port),
    ...spec.docker.environment,
    REACTOR_API: spec.apiUrl,
    REACTOR_ENDPOINT: spec.endpoint,
    REACTOR_INSTANCE: spec.instanceId,
    ...(spec.apiToken ? { REACTOR_TOKEN: spec.apiToken } : {}),
  };
}

/**
 * The `user` value as Docker takes it. Numeric `uid[:gid]` always works; a
 * name works only where the image's /etc/passwd knows it, which the engine
 * checks at start (see userErrorMessage for the error we give then).
 */
export function containerUser(user: string): string | undefined {
  const value = user.trim();
  return value === '' ? undefined : value;
}

/** True for `uid` or `uid:gid` in digits, which need no /etc/passwd in the image. */
export function isNumericUser(user: string): boolean {
  return /^\d+(:\d+)?$/.test(user.trim());
}

/**
 * Turns the engine's "unable to find user" start failure into a line an
 * operator can act on; null if the engine's message is about something else.
 */
export function userErrorMessage(user: string, image: string, engineMessage: string): string | null {
  if (!/unable to find (user|group)|no matching entries in (passwd|group) file|no (passwd|group) file/i.test(engineMessage)) {
    return null;
  }
  return (
    `[cloud:docker] user: "${user}" is not known in image ${image} (its /etc/passwd or /etc/group has no such entry); ` +
    `use a numeric uid[:gid] such as 0:0 (engine: ${engineMessage.trim()})`
  );
}

/** Create options for one instance's container on one host. Throws BAD_USER_INPUT for options Docker would refuse. */
export function buildCreateOptions(spec: ContainerSpec, host: HostBinding): Docker.ContainerCreateOptions {
  const { docker } = spec;
  if (docker.memLimit > 0 && docker.memLimit < MIN_MEMORY_BYTES) {
    throw badInput(
      `[cloud:docker] mem_limit: ${docker.memLimit} bytes is below Docker's minimum of ${MIN_MEMORY_BYTES} bytes (6m); use 0 for no limit`,
      { section: 'cloud:docker', key: 'mem_limit', value: docker.memLimit },
    );
  }
  const environment = containerEnvironment(spec);
  const portKey = `${spec.port}/tcp`;
  const options: Docker.ContainerCreateOptions = {
    name: containerName(spec),
    Image: docker.image,
    Env: Object.entries(environment).map(([key, value]) => `${key}=${value}`),
    Labels: {
      [Labels.endpoint]: spec.endpoint,
      [Labels.manager]: host.managerId,
      [Labels.instance]: spec.instanceId,
      [Labels.slots]: String(spec.slots),
      [Labels.port]: String(spec.port),
    },
    ExposedPorts: { [portKey]: {} },
    HostConfig: {
      Init: true,
      Privileged: false,
      NetworkMode: 'bridge',
      PortBindings: { [portKey]: [{ HostIp: host.address, HostPort: '' }] },
      RestartPolicy: { Name: 'no' },
    },
  };
  const cmd = parseCommand(docker.command, environment);
  if (cmd) options.Cmd = cmd;
  const user = containerUser(docker.user);
  if (user) options.User = user;
  if (docker.hostname) options.Hostname = docker.hostname;
  if (docker.memLimit > 0) options.HostConfig!.Memory = docker.memLimit;
  if (docker.dns.length > 0) options.HostConfig!.Dns = [...docker.dns];
  return options;
}

/** The published `host:port` of a container from its inspect data, or null when the port is not published (yet). */
export function publishedAddress(
  inspect: { NetworkSettings?: { Ports?: Record<string, { HostIp: string; HostPort: string }[] | null> } },
  port: number,
  hostAddress: string,
): string | null {
  const bindings = inspect.NetworkSettings?.Ports?.[`${port}/tcp`];
  const hostPort = bindings?.find((b) => b.HostPort)?.HostPort;
  return hostPort ? joinHostPort(hostAddress, hostPort) : null;
}

/** `address:port`, with an IPv6 address in brackets (`[::1]:32768`), as nginx and URLs want it. */
export function joinHostPort(address: string, port: number | string): string {
  return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
}
