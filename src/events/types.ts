// Items that flow on the event bus but are not stored as they are.
import type { InstanceRecord } from '../store/types.js';

import type { InstanceChangeKind } from '../model/events.js';

export type { InstanceChangeKind };

/** One change to one instance, as the `instanceChanges` subscription streams it. */
export interface InstanceChangeRecord {
  /** The id of the EndpointEvent that recorded the change. */
  id: string;
  endpoint: string;
  at: Date;
  change: InstanceChangeKind;
  instance: InstanceRecord;
  /** The sequence number of that event in the store's log. */
  seq?: number;
  /** What the change's event recorded besides the instance (why, failure kind and details…). */
  data?: Record<string, unknown>;
}
