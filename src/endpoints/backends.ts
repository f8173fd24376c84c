// Who serves each endpoint, read from the store: its RUNNING instances with an address, then its static instances; the balancer and the metrics both read it.
import { parseEndpointConfigCached } from '../config/index.js';
import type { EndpointConfig } from '../config/model.js';
import type { EndpointRecord, InstanceRecord, Store } from '../store/types.js';
import { groupBy } from '../util/group.js';

/** One backend an endpoint sends requests to. */
export interface Backend {
  /** `host:port` as nginx dials it (`[v6]:port` for IPv6). */
  address: string;
  /** The instance id, or `static:<address>` for a static instance. */
  instance: string;
}

/**
 * Who serves an endpoint: its RUNNING instances that have an address, then
 * its static instances; nobody while it is STOPPED. Addresses appear once.
 */
export function endpointBackends(
  record: Pick<EndpointRecord, 'name' | 'state'>,
  config: EndpointConfig,
  instances: readonly InstanceRecord[],
): Backend[] {
  if (record.state === 'STOPPED') return [];
  const seen = new Set<string>();
  const backends: Backend[] = [];
  for (const instance of instances) {
    if (instance.endpoint !== record.name || instance.status !== 'RUNNING' || !instance.address) continue;
    if (seen.has(instance.address)) continue;
    seen.add(instance.address);
    backends.push({ address: instance.address, instance: instance.id });
  }
  for (const address of config.endpoint.staticInstances) {
    if (seen.has(address)) continue;
    seen.add(address);
    backends.push({ address, instance: `static:${address}` });
  }
  return backends;
}

export interface EndpointView {
  record: EndpointRecord;
  config: EndpointConfig;
  backends: Backend[];
}

/** Every endpoint whose stored configuration parses, with its backends; `problems` names the others; `instances` as read. */
export async function readEndpointViews(store: Store): Promise<{ views: EndpointView[]; problems: string[]; instances: InstanceRecord[] }> {
  const [records, instances] = await Promise.all([store.endpoints.list(), store.instances.list()]);
  const views: EndpointView[] = [];
  const problems: string[] = [];
  // Grouped once: with many endpoints, scanning every instance per endpoint is quadratic.
  const byEndpoint = groupBy(instances, (instance) => instance.endpoint);
  for (const record of records) {
    try {
      const config = parseEndpointConfigCached(record.configText);
      views.push({ record, config, backends: endpointBackends(record, config, byEndpoint.get(record.name) ?? []) });
    } catch (error) {
      problems.push(`${record.name}: stored configuration does not parse: ${(error as Error).message}`);
    }
  }
  return { views, problems, instances };
}
