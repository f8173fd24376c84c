// The states of Reactor's things: what an endpoint and an instance can be, in one place the store, the core and the API all read.

/** An endpoint's state: RUNNING (scaled by its rules), PAUSED (nothing changes), STOPPED (every instance goes). */
export type EndpointState = 'RUNNING' | 'PAUSED' | 'STOPPED';

export const ENDPOINT_STATES: readonly EndpointState[] = ['RUNNING', 'PAUSED', 'STOPPED'];

/**
 * An instance's status. The controller writes the desired part (PENDING,
 * STARTING on a manager, DECOMMISSIONED, REMOVING); the host of its manager
 * reports the observed part (RUNNING once ready, ERROR, LOST).
 */
export type InstanceStatus =
  | 'PENDING' // waiting for a place or a dependency; `reason` says why
  | 'STARTING' // assigned to a manager; its host creates the container and waits for readiness
  | 'RUNNING' // in the balancer
  | 'DECOMMISSIONED' // out of the balancer, draining
  | 'REMOVING' // wanted gone: its host stops and removes the container, then the record
  | 'ERROR' // failed; will be replaced
  | 'LOST'; // its container vanished

export const INSTANCE_STATUSES: readonly InstanceStatus[] = ['PENDING', 'STARTING', 'RUNNING', 'DECOMMISSIONED', 'REMOVING', 'ERROR', 'LOST'];

/** Statuses whose record should have a container on its manager's engine. */
export const HAS_CONTAINER: ReadonlySet<InstanceStatus> = new Set<InstanceStatus>(['STARTING', 'RUNNING', 'DECOMMISSIONED']);

/**
 * A manager's status, as the controller sees it: READY while its host beats
 * its heartbeat, LOST once it has not for the manager timeout (its instances
 * are then replaced on the others, and no balancer sends traffic to it).
 */
export type ManagerStatus = 'READY' | 'LOST';

/** The name of the controller's lease in the store (see control/lease.ts); hosts read its term. */
export const CONTROLLER_LEASE = 'controller';
