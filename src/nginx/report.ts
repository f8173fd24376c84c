// What the nginx driver tells its owner: something operators should see in an endpoint's log, recorded as an endpoint event.
import type { EventKinds } from '../model/events.js';

/** The event kinds the driver reports (see src/model/events.ts). */
export type DriverReportKind =
  | typeof EventKinds.BALANCER_CONFIG_REFUSED
  | typeof EventKinds.BALANCER_RESTARTED
  | typeof EventKinds.BALANCER_FAILED
  | typeof EventKinds.BALANCER_PEER_DROPPED;

export interface DriverReport {
  /** The endpoints whose log gets the event. */
  endpoints: string[];
  kind: DriverReportKind;
  message: string;
  data: Record<string, unknown>;
}
