// Starts the test image the way an instance runs (init, port published on loopback) and waits for its first answer.
import Docker from 'dockerode';
import { ensureTestImage } from '../test/support/images.js';
import { until, get } from './http.js';

/** Label every benchmark container carries, with the benchmark's name as value, so each removes its own. */
export const BENCH_LABEL = 'reactor.bench';

const docker = new Docker();

/** create + start + inspect for the port + first HTTP 200: the "physical floor" of one instance. */
export async function startBenchContainer(bench: string): Promise<{ address: string; hostname: string }> {
  const container = await docker.createContainer({
    Image: ensureTestImage(),
    Cmd: ['/usr/local/bin/runapp'],
    Labels: { [BENCH_LABEL]: bench },
    ExposedPorts: { '5000/tcp': {} },
    HostConfig: { PortBindings: { '5000/tcp': [{ HostIp: '127.0.0.1', HostPort: '' }] }, Init: true },
  });
  await container.start();
  const info = await container.inspect();
  const address = `127.0.0.1:${info.NetworkSettings.Ports['5000/tcp']![0].HostPort}`;
  await until(async () => (await get(`http://${address}/`)).status === 200);
  return { address, hostname: info.Config.Hostname };
}
