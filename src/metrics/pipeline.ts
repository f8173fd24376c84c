// Assembles the balancer and the metrics pipeline of one Reactor process: local nginx (with the agent), log totals, sampler.
import type { EventBus } from '../events/bus.js';
import type { EventRecorder } from '../events/recorder.js';
import { findExecutable } from '../managers/probe.js';
import { startLocalBalancer, type LocalBalancer } from '../nginx/local-balancer.js';
import type { Store } from '../store/types.js';
import { ConnectionSampler } from './connections.js';
import { MetricsSampler } from './sampler.js';

export interface MetricsPipelineOptions {
  store: Store;
  bus: EventBus;
  events: EventRecorder;
  dataDir: string;
  /** Run the local nginx (the local agent's balancer). */
  balancer: boolean;
  /** Where endpoint servers listen; default 0.0.0.0. */
  balancerAddress?: string;
  /** Seconds between samples; default 10. */
  intervalSeconds?: number;
  /** Seconds samples are kept; default 24 h. */
  retentionSeconds?: number;
  clock?: () => Date;
  log: (line: string) => void;
  /** false when the control loop drives the sampler (calls its tick before each evaluation); default true. */
  sampleTimer?: boolean;
}

/**
 * `start()` once the API listens, `stop()` before the store closes. Without
 * an nginx binary the balancer is left out (the manager already reports the
 * problem) and samples still carry instance counts and custom metrics.
 */
export class MetricsPipeline {
  balancer: LocalBalancer | undefined;
  sampler: MetricsSampler | undefined;
  private started = false;

  constructor(private readonly options: MetricsPipelineOptions) {}

  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    const { options } = this;
    if (options.balancer) {
      const binary = findExecutable('nginx');
      if (!binary) {
        options.log('warning: nginx: no nginx binary on PATH; endpoints are not balanced here (install nginx-light)');
      } else {
        try {
          this.balancer = await startLocalBalancer({
            store: options.store,
            bus: options.bus,
            events: options.events,
            dataDir: options.dataDir,
            nginxBinary: binary,
            listenAddress: options.balancerAddress,
            pollMs: Math.min(2000, (options.intervalSeconds ?? 10) * 1000),
            log: options.log,
          });
        } catch (error) {
          options.log(`error: nginx: the balancer did not start: ${(error as Error).message}`);
        }
      }
    }
    this.sampler = new MetricsSampler({
      store: options.store,
      bus: options.bus,
      intervalSeconds: options.intervalSeconds,
      retentionSeconds: options.retentionSeconds,
      accumulator: this.balancer?.accumulator,
      connections: this.balancer ? new ConnectionSampler() : undefined,
      clock: options.clock,
      log: options.log,
      ownTimer: options.sampleTimer,
    });
    this.sampler.start();
  }

  async stop(): Promise<void> {
    await this.sampler?.stop();
    await this.balancer?.stop();
    this.sampler = undefined;
    this.balancer = undefined;
    this.started = false;
  }
}
