// Endpoint lifecycle: manage, unmanage, state and option changes — validated, stored with versioning, and logged as events.
import { parseEndpointConfig, renderEndpointConfig, setEndpointOption, getEndpointOption } from '../config/index.js';
import { parseEndpointConfigCached } from '../config/cache.js';
import type { EndpointConfig } from '../config/model.js';
import { badInput, ErrorCodes, isReactorError, notFound } from '../errors/codes.js';
import { EventKinds, type EventRecorder } from '../events/recorder.js';
import type { EndpointState } from '../model/states.js';
import type { ReadCache } from '../store/read-cache.js';
import type { EndpointRecord, Store } from '../store/types.js';

/** Endpoint names become nginx upstream names, container labels and CLI arguments. */
const NAME_PATTERN = /^[a-z0-9][a-z0-9_.-]{0,62}$/i;
const STATES: readonly EndpointState[] = ['RUNNING', 'PAUSED', 'STOPPED'];
/** Read-modify-write attempts before a CONFLICT reaches the caller. */
const MAX_ATTEMPTS = 5;

export function validateEndpointName(name: string): string {
  if (!NAME_PATTERN.test(name)) {
    throw badInput(
      `endpoint name ${JSON.stringify(name)} is not valid: use 1-63 letters, digits, '.', '_' or '-', starting with a letter or digit`,
      { field: 'name' },
    );
  }
  return name;
}

export class EndpointService {
  constructor(
    private readonly store: Store,
    private readonly events: EventRecorder,
    /** Where the API's reads come from (memory until something changes); the store itself without one. */
    private readonly reads?: ReadCache,
  ) {}

  /** For readers (the API): the cached answer when there is a cache. Changes below read the store itself. */
  list(): Promise<EndpointRecord[]> {
    return this.reads ? this.reads.endpoints() : this.store.endpoints.list();
  }

  get(name: string): Promise<EndpointRecord | null> {
    return this.reads ? this.reads.endpoint(name) : this.store.endpoints.get(name);
  }

  async require(name: string): Promise<EndpointRecord> {
    const record = await this.store.endpoints.get(name);
    if (!record) throw notFound('endpoint', name);
    return record;
  }

  /** The typed configuration of a stored endpoint (parsed once per text; callers share it and must not modify it). */
  config(record: EndpointRecord): EndpointConfig {
    return parseEndpointConfigCached(record.configText);
  }

  /**
   * Creates (PAUSED, as in the original) or replaces an endpoint's whole
   * configuration. The text is parsed and validated first; nothing is stored
   * if it is not valid. The stored text is the canonical rendering.
   */
  async manage(name: string, configText: string): Promise<EndpointRecord> {
    validateEndpointName(name);
    const config = parseEndpointConfig(configText);
    const canonical = renderEndpointConfig(config);
    return this.retryOnConflict(async () => {
      const existing = await this.store.endpoints.get(name);
      if (!existing) {
        const created = await this.store.endpoints.create({ name, state: 'PAUSED', configText: canonical });
        await this.events.record(name, EventKinds.ENDPOINT_MANAGED, `endpoint ${name} managed (PAUSED)`, {
          version: created.version,
        });
        return created;
      }
      if (existing.configText === canonical) return existing;
      const updated = await this.store.endpoints.update(name, existing.version, { configText: canonical });
      await this.events.record(name, EventKinds.CONFIG_CHANGED, `configuration of ${name} replaced`, {
        version: updated.version,
      });
      return updated;
    });
  }

  /**
   * Removes the endpoint; its instances are removed by the agents that run
   * them. Its metric samples, decisions and custom metrics go with it (they
   * describe an endpoint that is gone); its events stay, as the log of what
   * happened to it, until the events' retention prunes them.
   */
  async unmanage(name: string): Promise<boolean> {
    const existed = await this.store.endpoints.delete(name);
    if (existed) {
      const [samples, decisions] = await Promise.all([
        this.store.samples.deleteByEndpoint(name),
        this.store.decisions.deleteByEndpoint(name),
        this.store.customMetrics.delete(name),
      ]);
      await this.events.record(name, EventKinds.ENDPOINT_UNMANAGED, `endpoint ${name} unmanaged`, { samples, decisions });
    }
    return existed;
  }

  async setState(name: string, state: string): Promise<EndpointRecord> {
    if (!STATES.includes(state as EndpointState)) {
      throw badInput(`state ${JSON.stringify(state)} is not one of ${STATES.join(', ')}`, { field: 'state' });
    }
    return this.retryOnConflict(async () => {
      const existing = await this.require(name);
      if (existing.state === state) return existing;
      const updated = await this.store.endpoints.update(name, existing.version, { state: state as EndpointState });
      await this.events.record(name, EventKinds.STATE_CHANGED, `${name}: ${existing.state} → ${state}`, {
        from: existing.state,
        to: state,
        version: updated.version,
      });
      return updated;
    });
  }

  /** Sets one INI key; the whole configuration is validated again before anything is stored. */
  async setOption(name: string, section: string, key: string, value: string): Promise<EndpointRecord> {
    return this.retryOnConflict(async () => {
      const existing = await this.require(name);
      const next = setEndpointOption(this.config(existing), section, key, value);
      const canonical = renderEndpointConfig(next);
      if (canonical === existing.configText) return existing;
      const updated = await this.store.endpoints.update(name, existing.version, { configText: canonical });
      await this.events.record(name, EventKinds.CONFIG_CHANGED, `${name}: [${section}] ${key} = ${value}`, {
        section,
        key,
        value,
        version: updated.version,
      });
      return updated;
    });
  }

  async getOption(name: string, section: string, key: string): Promise<string> {
    return getEndpointOption(this.config(await this.require(name)), section, key);
  }

  /**
   * Our own read-modify-write cycles retry on CONFLICT: the change is applied
   * again to the fresh record, so two operators setting different keys both
   * win, and nothing is overwritten silently.
   */
  private async retryOnConflict<T>(attempt: () => Promise<T>): Promise<T> {
    for (let i = 1; ; i++) {
      try {
        return await attempt();
      } catch (error) {
        const retryable =
          isReactorError(error) && (error.code === ErrorCodes.CONFLICT || error.code === ErrorCodes.ALREADY_EXISTS);
        if (!retryable || i >= MAX_ATTEMPTS) throw error;
      }
    }
  }
}
