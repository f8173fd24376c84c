// Wires the services of one Reactor process together and registers the local manager.
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { ControlLoop } from '../control/loop.js';
import { EndpointService } from '../endpoints/service.js';
import { EventBus } from '../events/bus.js';
import { EventRecorder } from '../events/recorder.js';
import type { Agent } from '../agents/types.js';
import { DockerAgent } from '../docker/agent.js';
import { Reconciler } from '../instances/reconciler.js';
import { InstanceService } from '../instances/service.js';
import { probeHost } from '../managers/probe.js';
import { ManagerService } from '../managers/service.js';
import { CustomMetricsService } from '../metrics/custom.js';
import { HostTraffic } from '../host/traffic.js';
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
    instances: new InstanceService(inputs.store, bus, events, clock),
    clock,
    metrics: new CustomMetricsService(inputs.store, events, clock),
    pipeline: new HostTraffic({
      store: inputs.store,
      bus,
      events,
      dataDir: inputs.dataDir,
      balancer: inputs.options.agent !== false,
      balancerAddress: inputs.options.balancerAddress,
      intervalSeconds: inputs.options.interval,
      retentionSeconds: inputs.options.metricsRetention,
      clock,
      log: inputs.log,
      // With a local agent the control loop takes each sample right before it decides.
      sampleTimer: inputs.options.agent === false,
    }),
    stop: async () => {},
  };
  if (inputs.options.agent !== false) {
    const problems = await probeHost();
    for (const problem of problems) inputs.log(`warning: ${problem}`);
    const managerId = localManagerId(inputs.dataDir);
    await managers.register({
      id: managerId,
      name: inputs.options.name ?? hostname(),
      address: '127.0.0.1',
      slots: inputs.options.slots,
      clouds: ['docker'],
      loadbalancers: ['nginx'],
      problems,
    });
    // The local docker agent, the reconciler that keeps endpoints' containers and the control loop that
    // evaluates them; started by the server once it listens.
    const agent = new DockerAgent({ managerId, address: '127.0.0.1', log: inputs.log });
    const loop = new ControlLoop({
      store: inputs.store,
      bus,
      events,
      intervalSeconds: inputs.options.interval ?? 10,
      sampler: () => services.pipeline.sampler,
      retentionSeconds: inputs.options.metricsRetention,
      clock,
      log: inputs.log,
    });
    const reconciler = new Reconciler({
      store: inputs.store,
      bus,
      events,
      instances: services.instances,
      agents: new Map<string, Agent>([[managerId, agent]]),
      apiUrl: '',
      policy: loop.policy,
      clock,
      log: inputs.log,
    });
    loop.attach(reconciler);
    services.reconciler = reconciler;
    services.loop = loop;
    services.stop = async () => {
      await loop.stop();
      await reconciler.stop();
      await agent.close();
    };
  }
  // nginx and the sampler stop after everything else that was stopping, before the store closes.
  const stopOthers = services.stop;
  services.stop = async () => {
    await stopOthers();
    await services.pipeline.stop();
  };
  return services;
}
