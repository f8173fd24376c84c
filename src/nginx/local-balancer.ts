// The local agent's balancer: the log receiver, the nginx driver and the store sync, started and stopped as one.
import { join } from 'node:path';
import type { EventBus } from '../events/bus.js';
import type { EventRecorder } from '../events/recorder.js';
import { LogAccumulator } from '../metrics/accumulator.js';
import { startLogReceiver, type LogReceiver } from '../metrics/receiver.js';
import type { Store } from '../store/types.js';
import { NginxDriver } from './driver.js';
import { BalancerSync } from './sync.js';

export interface LocalBalancerOptions {
  store: Store;
  bus: EventBus;
  events: EventRecorder;
  /** nginx's prefix is `<dataDir>/nginx`. */
  dataDir: string;
  nginxBinary: string;
  /** Address endpoint servers listen on; default 0.0.0.0. */
  listenAddress?: string;
  /** Safety-net store poll; default 2 s. */
  pollMs?: number;
  log?: (line: string) => void;
}

export interface LocalBalancer {
  driver: NginxDriver;
  sync: BalancerSync;
  accumulator: LogAccumulator;
  receiver: LogReceiver;
  stop(): Promise<void>;
}

export async function startLocalBalancer(options: LocalBalancerOptions): Promise<LocalBalancer> {
  const log = options.log ?? (() => {});
  const accumulator = new LogAccumulator();
  const receiver = await startLogReceiver((line) => accumulator.add(line));
  const driver = new NginxDriver({
    binary: options.nginxBinary,
    prefix: join(options.dataDir, 'nginx'),
    listenAddress: options.listenAddress,
    syslogPort: receiver.port,
    log,
    report: async (report) => {
      for (const endpoint of report.endpoints) {
        await options.events.record(endpoint, report.kind, report.message, report.data);
      }
    },
  });
  try {
    await driver.start();
  } catch (error) {
    await receiver.close();
    throw error;
  }
  const sync = new BalancerSync({ store: options.store, bus: options.bus, driver, pollMs: options.pollMs, log });
  await sync.start();
  return {
    driver,
    sync,
    accumulator,
    receiver,
    async stop() {
      await sync.stop();
      await driver.stop();
      await receiver.close();
    },
  };
}
