// Every kind of endpoint event Reactor records, by who records it; the `kind` field of EndpointEvent.

/** Endpoint lifecycle and what the balancer reports. */
export const EventKinds = {
  ENDPOINT_MANAGED: 'ENDPOINT_MANAGED',
  ENDPOINT_UNMANAGED: 'ENDPOINT_UNMANAGED',
  CONFIG_CHANGED: 'CONFIG_CHANGED',
  STATE_CHANGED: 'STATE_CHANGED',
  CUSTOM_METRICS_SET: 'CUSTOM_METRICS_SET',
  /** nginx refused a new configuration (nginx -t or the reload failed); the last good one keeps serving. */
  BALANCER_CONFIG_REFUSED: 'BALANCER_CONFIG_REFUSED',
  /** nginx died and is being started again. */
  BALANCER_RESTARTED: 'BALANCER_RESTARTED',
  /** nginx exited with an error (e.g. a port in use) and is being started again after a back-off. */
  BALANCER_FAILED: 'BALANCER_FAILED',
  /** A backend is left out of the Lua balancer's peers: its name does not resolve (or its address is malformed); the others serve. */
  BALANCER_PEER_DROPPED: 'BALANCER_PEER_DROPPED',
} as const;

/**
 * Endpoint events that change what should run for an endpoint (it appeared,
 * went, or its config or state changed): the controller and the balancer
 * sync act on these at once; the other kinds only report.
 */
export const RECONFIGURING_KINDS: ReadonlySet<string> = new Set<string>([
  EventKinds.STATE_CHANGED,
  EventKinds.CONFIG_CHANGED,
  EventKinds.ENDPOINT_MANAGED,
  EventKinds.ENDPOINT_UNMANAGED,
]);

/** Event kinds about instances: what the controller wants of them and what their host saw. */
export const InstanceEventKinds = {
  INSTANCE_CREATED: 'INSTANCE_CREATED',
  INSTANCE_PENDING: 'INSTANCE_PENDING',
  INSTANCE_PLACED: 'INSTANCE_PLACED',
  INSTANCE_STARTED: 'INSTANCE_STARTED',
  INSTANCE_RUNNING: 'INSTANCE_RUNNING',
  /** Out of the balancer, draining before it is deleted. */
  INSTANCE_DECOMMISSIONED: 'INSTANCE_DECOMMISSIONED',
  /** Back into the balancer from draining, before any new launch. */
  INSTANCE_RECOMMISSIONED: 'INSTANCE_RECOMMISSIONED',
  /** The controller wants it gone: its host stops the container, then removes the record. */
  INSTANCE_REMOVING: 'INSTANCE_REMOVING',
  INSTANCE_ADOPTED: 'INSTANCE_ADOPTED',
  INSTANCE_LOST: 'INSTANCE_LOST',
  INSTANCE_ERROR: 'INSTANCE_ERROR',
  INSTANCE_REMOVED: 'INSTANCE_REMOVED',
  ORPHAN_REMOVED: 'ORPHAN_REMOVED',
  IMAGE_UNAVAILABLE: 'IMAGE_UNAVAILABLE',
  /** A round of the endpoint failed (store, engine…); the next round tries again. */
  ROUND_FAILED: 'ROUND_FAILED',
} as const;

export type InstanceEventKind = (typeof InstanceEventKinds)[keyof typeof InstanceEventKinds];

/** Event kinds the controller records about its decisions. */
export const ControlEventKinds = {
  /** A decision changed the instances (launch, decommission, recommission, delete): its summary says why. */
  SCALED: 'SCALED',
  /** The rules ask for an empty range: the current count is kept until they agree again. */
  SCALING_CONFLICT: 'SCALING_CONFLICT',
  /**
   * A host saw traffic past what the rules allow for the current count (`data.startedBy` burst), or held
   * a request at 0 instances (`held`): the controller runs a scale-up round at once with `data.sample`.
   */
  SURGE: 'SURGE',
  /** Requests a host's activator refused because the endpoint's hold queue was full (503); one event per second at most, with the count. */
  HELD_REQUESTS_REFUSED: 'HELD_REQUESTS_REFUSED',
  /** Held requests that waited hold_timeout for a first instance (504); one event per second at most, with the count. */
  HELD_REQUESTS_TIMED_OUT: 'HELD_REQUESTS_TIMED_OUT',
} as const;

/**
 * Event kinds about the cluster rather than one endpoint: recorded with the
 * endpoint '' (read them with `events` and no endpoint, or `reactor log`
 * without a name).
 */
export const ClusterEventKinds = {
  /** A server became the controller, for a new term. */
  CONTROLLER_ELECTED: 'CONTROLLER_ELECTED',
  /** A controller found another holding the lease, or its writes fenced by a newer term, and stopped acting. */
  CONTROLLER_STEPPED_DOWN: 'CONTROLLER_STEPPED_DOWN',
  /** A manager's host stopped beating its heartbeat for the manager timeout: its instances are replaced elsewhere. */
  MANAGER_LOST: 'MANAGER_LOST',
  /** A LOST manager's host beats again. */
  MANAGER_READY: 'MANAGER_READY',
} as const;

/** The endpoint name cluster events are recorded under. */
export const CLUSTER = '';

/** How an instance record changed, as `instanceChanges` streams it. */
export type InstanceChangeKind = 'CREATED' | 'STATUS_CHANGED' | 'REMOVED';
