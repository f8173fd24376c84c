// Optimistic concurrency for endpoints: the update flow every backend shares around its own atomic compare-and-set.
import { badInput, conflict, notFound } from '../errors/codes.js';
import type { EndpointRecord, EndpointState } from './types.js';
import { wallClock } from '../time/timers.js';

export type EndpointChanges = Partial<Pick<EndpointRecord, 'state' | 'configText'>>;

/** What a backend writes when the compare-and-set succeeds. */
export interface EndpointWrite extends EndpointChanges {
  version: number;
  updatedAt: Date;
}

/** The two primitives a backend supplies; `writeIfVersion` must be one atomic conditional write. */
export interface VersionedEndpointOps {
  get(name: string): Promise<EndpointRecord | null>;
  /**
   * Stores `next` (= the record read at `expectedVersion` with `write` applied)
   * only if the endpoint is still at `expectedVersion`; returns 1 if it did, 0
   * if not (changed by someone else, or deleted).
   */
  writeIfVersion(name: string, expectedVersion: number, write: EndpointWrite, next: EndpointRecord): Promise<number>;
}

const STATES: readonly EndpointState[] = ['RUNNING', 'PAUSED', 'STOPPED'];

export function checkState(state: unknown): asserts state is EndpointState {
  if (!STATES.includes(state as EndpointState)) {
    throw badInput(`endpoint state must be one of ${STATES.join(', ')}, got "${String(state)}"`, { field: 'state' });
  }
}

/**
 * Updates an endpoint if nobody else did since the caller read `expectedVersion`.
 *
 * The stored row is read first to fail fast and to build the new record; the
 * decision is the backend's atomic `writeIfVersion` (SQL: `UPDATE … WHERE
 * name = ? AND version = ?`; MongoDB: inserting the next version under a
 * unique (name, version) index).
 * When two callers race from version 3, both may pass the read, but only one
 * write matches `version = 3`: it gets version 4, the other CONFLICT.
 */
export async function updateEndpointVersioned(
  ops: VersionedEndpointOps,
  name: string,
  expectedVersion: number,
  changes: EndpointChanges,
  now: Date = wallClock(),
): Promise<EndpointRecord> {
  if (!Number.isInteger(expectedVersion) || expectedVersion < 1) {
    throw badInput(`expected version must be a whole number from 1, got ${expectedVersion}`, { field: 'version' });
  }
  const picked: EndpointChanges = {};
  if (changes.state !== undefined) {
    checkState(changes.state);
    picked.state = changes.state;
  }
  if (changes.configText !== undefined) picked.configText = changes.configText;

  const current = await ops.get(name);
  if (!current) throw notFound('endpoint', name);
  if (current.version !== expectedVersion) throw conflict('endpoint', name);

  const write: EndpointWrite = { ...picked, version: expectedVersion + 1, updatedAt: now };
  const next: EndpointRecord = { ...current, ...write };
  const matched = await ops.writeIfVersion(name, expectedVersion, write, next);
  if (matched === 0) {
    throw (await ops.get(name)) ? conflict('endpoint', name) : notFound('endpoint', name);
  }
  return next;
}
