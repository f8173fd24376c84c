// Endpoint configurations (Reactor INI) that tests share, all on the local test image.
import { TEST_IMAGE } from './images.js';

/**
 * The seed walkthrough's docker.conf on the test image. `port` moves the
 * balancer off port 80 (80 keeps the seed's bare `url=http://`);
 * `decommissionedTimeout` adds that key.
 */
export function seedConfig({ port = 80, decommissionedTimeout }: { port?: number; decommissionedTimeout?: number } = {}): string {
  return `[endpoint]
url=http://${port === 80 ? '' : `:${port}`}
cloud=docker
loadbalancer=nginx
port=5000
${decommissionedTimeout === undefined ? '' : `decommissioned_timeout=${decommissionedTimeout}\n`}
[scaling]
min_instances=1
max_instances=5

[cloud:docker]
image=${TEST_IMAGE}
command=/usr/local/bin/runapp
`;
}

/** The seed walkthrough's docker.conf as the seed wrote it, with the test image. */
export const SEED_CONFIG = seedConfig();

export interface UnbalancedOptions {
  image?: string;
  min?: number;
  slots?: number;
  /** More [cloud:docker] lines. */
  docker?: string;
}

/** An endpoint on the test image without a load balancer, for tests about instances and containers. */
export function unbalancedConf(name: string, { image = TEST_IMAGE, min = 1, slots = 1, docker = '' }: UnbalancedOptions = {}): string {
  return `[endpoint]
url=http://${name}.test
loadbalancer=none
port=5000

[scaling]
min_instances=${min}
max_instances=10

[cloud:docker]
image=${image}
slots=${slots}
${docker}
`;
}

export interface BalancedOptions {
  port: number;
  min?: number;
  max?: number;
  rules?: string;
  decommissionedTimeout?: number;
  unregisteredTimeout?: number;
  errorMarks?: number;
  healthPath?: string;
  command?: string;
  /** hold_queue (requests held while no instance serves); default the option's own. */
  holdQueue?: number;
  holdTimeout?: number;
  /** burst_reaction; default the option's own (true). */
  burstReaction?: boolean;
}

/** An nginx-balanced endpoint on the test image, served at http://127.0.0.1:PORT/. */
export function balancedConf(c: BalancedOptions): string {
  return `[endpoint]
url=http://:${c.port}/
loadbalancer=nginx
port=5000
decommissioned_timeout=${c.decommissionedTimeout ?? 60}
unregistered_timeout=${c.unregisteredTimeout ?? 120}
error_marks=${c.errorMarks ?? 3}
health_path=${c.healthPath ?? ''}

[scaling]
min_instances=${c.min ?? 1}
max_instances=${c.max ?? 5}
rules=${c.rules ?? ''}
${c.holdQueue === undefined ? '' : `hold_queue=${c.holdQueue}\n`}${c.holdTimeout === undefined ? '' : `hold_timeout=${c.holdTimeout}\n`}${c.burstReaction === undefined ? '' : `burst_reaction=${c.burstReaction}\n`}
[cloud:docker]
image=${TEST_IMAGE}
command=${c.command ?? '/usr/local/bin/runapp'}
`;
}

/** An nginx-balanced endpoint over static backends (no managed instances), with more [loadbalancer:nginx] keys. */
export function staticBackendsConf(url: string, backends: readonly string[], nginx: Record<string, string> = {}): string {
  const nginxLines = Object.entries(nginx).map(([key, value]) => `${key}=${value}`);
  return [
    '[endpoint]',
    `url=${url}`,
    'cloud=docker',
    'loadbalancer=nginx',
    'port=5000',
    `static_instances=${backends.join(',')}`,
    '',
    '[scaling]',
    'min_instances=0',
    'max_instances=0',
    '',
    '[cloud:docker]',
    `image=${TEST_IMAGE}`,
    '',
    '[loadbalancer:nginx]',
    ...nginxLines,
    '',
  ].join('\n');
}
