// Docker in tests: starts the test image as plain backends, and finds and removes containers by their labels.
import Docker from 'dockerode';
import { httpGet } from './http.js';
import { ensureTestImage } from './images.js';
import { waitFor } from './wait.js';

const docker = new Docker();

/** Containers carrying `label=value` (running or not). */
export async function containersWithLabel(label: string, value: string): Promise<Docker.ContainerInfo[]> {
  return docker.listContainers({ all: true, filters: { label: [`${label}=${value}`] } });
}

/** The containers of one endpoint on a server's local manager (`reactor.manager` and `reactor.endpoint` labels). */
export async function containersOf(server: { managerId: string }, endpoint: string): Promise<Docker.ContainerInfo[]> {
  return (await containersWithLabel('reactor.manager', server.managerId)).filter((c) => c.Labels['reactor.endpoint'] === endpoint);
}

/** Force-removes every container carrying `label=value` (on `engine`, default the local one); returns how many there were. */
export async function removeContainersWithLabel(label: string, value: string, engine: Docker = docker): Promise<number> {
  const containers = await engine.listContainers({ all: true, filters: { label: [`${label}=${value}`] } });
  await Promise.all(
    containers.map((c) =>
      engine
        .getContainer(c.Id)
        .remove({ force: true, v: true })
        .catch((error: { statusCode?: number }) => {
          if (error.statusCode !== 404 && error.statusCode !== 409) throw error;
        }),
    ),
  );
  return containers.length;
}

export interface TestContainer {
  /** `127.0.0.1:<published port>` */
  address: string;
  /** What the index page answers: the container's host name. */
  hostname: string;
  containerId: string;
}

export interface TestContainerOptions {
  /** How often to poll for the first answer; default 25 ms (benchmarks time this, so they poll tightly). */
  pollMs?: number;
  /** The engine to start it on; default the local one. */
  engine?: Docker;
  /** Where its port is published; default 127.0.0.1 (engine N of the cluster tests publishes on 127.0.0.N). */
  hostIp?: string;
  /**
   * An image known to be on the engine. Default: the test image, checked
   * (and built if missing) first with the docker CLI, which a caller timing
   * the start may want to leave out.
   */
  image?: string;
}

/**
 * Starts the test image the way an instance runs (init, port 5000 published
 * on loopback) with these labels, and waits for its first HTTP 200.
 */
export async function startTestContainer(labels: Record<string, string>, { pollMs = 25, engine = docker, hostIp = '127.0.0.1', image }: TestContainerOptions = {}): Promise<TestContainer> {
  const container = await engine.createContainer({
    Image: image ?? ensureTestImage(),
    Cmd: ['/usr/local/bin/runapp'],
    Labels: labels,
    ExposedPorts: { '5000/tcp': {} },
    HostConfig: { PortBindings: { '5000/tcp': [{ HostIp: hostIp, HostPort: '' }] }, Init: true },
  });
  await container.start();
  const info = await container.inspect();
  const port = info.NetworkSettings.Ports['5000/tcp']?.[0]?.HostPort;
  if (!port) throw new Error('the test container has no published port');
  const address = `${hostIp}:${port}`;
  await waitFor(async () => (await httpGet(address)).status === 200, { intervalMs: pollMs, what: `test container ${address}` });
  return { address, hostname: info.Config.Hostname, containerId: info.Id };
}

/** The label of backends a test starts by hand (not through Reactor); its value names the test. */
const TEST_LABEL = 'reactor.test';

/** Starts `count` test containers labelled `reactor.test=<label>`, published on loopback and answering HTTP. */
export function startBackends(count: number, label: string): Promise<TestContainer[]> {
  return Promise.all(Array.from({ length: count }, () => startTestContainer({ [TEST_LABEL]: label })));
}

/** Removes the backends `startBackends(…, label)` started; returns how many there were. */
export function removeBackends(label: string): Promise<number> {
  return removeContainersWithLabel(TEST_LABEL, label);
}
