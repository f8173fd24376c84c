// Wires the services of one Reactor process together and registers the local manager.
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { EndpointService } from '../endpoints/service.js';
import { EventBus } from '../events/bus.js';
import { EventRecorder } from '../events/recorder.js';
import { probeHost } from '../managers/probe.js';
import { ManagerService } from '../managers/service.js';
import type { Store } from '../store/types.js';
import type { Services } from './context.js';
import { packageVersion } from './paths.js';
import type { ServerOptions } from './server.js';

export interface ServiceInputs {
  store: Store;
  dataDir: string;
  options: ServerOptions;
  log: (line: string) => void;
  clock?: () => Date;
}

/** The local manager keeps its id across restarts, so its containers and slots stay its own. */
export function localManagerId(dataDir: string): string {
  const file = join(dataDir, 'manager-id');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  const id = randomUUID();
  writeFileSync(file, `${id}\n`);
  return id;
}

export async function createServices(inputs: ServiceInputs): Promise<Services> {
  const clock = inputs.clock ?? (() => new Date());
  const bus = new EventBus();
  const events = new EventRecorder(inputs.store, bus, clock);
  const managers = new ManagerService(inputs.store, clock);
  const services: Services = {
    version: packageVersion,
    store: inputs.store,
    bus,
    events,
    endpoints: new EndpointService(inputs.store, events),
    managers,
    clock,
    stop: async () => {},
  };
  if (inputs.options.agent !== false) {
    const problems = await probeHost();
    for (const problem of problems) inputs.log(`warning: ${problem}`);
    await managers.register({
      id: localManagerId(inputs.dataDir),
      name: inputs.options.name ?? hostname(),
      address: '127.0.0.1',
      slots: inputs.options.slots,
      clouds: ['docker'],
      loadbalancers: ['nginx'],
      problems,
    });
  }
  return services;
}
