// Reads what a replay needs from the store (the endpoint, its samples, decisions and launch events), within what is retained, and runs the pure replay engine over it.
import { parseEndpointConfigCached } from '../config/index.js';
import { badInput, notFound } from '../errors/codes.js';
import { replayScaling } from '../replay/engine.js';
import { launchModel, launchToReadyTimes, median } from '../replay/launch.js';
import { checkBands, checkLaunchSeconds, checkMetricNames, checkPolicy, type PolicyInput } from '../replay/policy.js';
import { UNDIVIDED_METRICS } from '../replay/redivide.js';
import type { RecordedRound, ReplayReport } from '../replay/types.js';
import { MAX_LIST_LIMIT } from '../store/list-window.js';
import type { DecisionRecord, ListOptions, Store } from '../store/types.js';
import { decisionView, isSurgeRound } from './decision-view.js';

/** How long the store keeps what a replay reads. */
export interface Retention {
  samplesSeconds: number;
  decisionsSeconds: number;
}

export interface ReplayArgs {
  endpoint: string;
  policy: PolicyInput;
  from?: Date | null;
  to?: Date | null;
  launchSeconds?: number | null;
  bands?: readonly string[] | null;
  undivided?: readonly string[] | null;
}

export type ReplayAnswer = ReplayReport & { retention: Retention };

/**
 * Pruning runs once a minute, so data up to a minute past retention may
 * still be there, and a client's "24 h ago" is a little older by the time it
 * arrives: a `from` this close to the retention edge is taken as the edge.
 */
const RETENTION_SLACK_MS = 60_000;
/** How far before the first sample decisions are read: the count and state the replay starts from. */
const DECISIONS_BEFORE_MS = 5 * 60_000;
/** How far before the window launch events are read, for launches that end inside it. */
const LAUNCHES_BEFORE_MS = 60 * 60_000;

function duration(seconds: number): string {
  if (seconds % 86_400 === 0) return `${seconds / 86_400} d`;
  if (seconds % 3600 === 0) return `${seconds / 3600} h`;
  if (seconds % 60 === 0) return `${seconds / 60} min`;
  return `${seconds} s`;
}

const iso = (ms: number) => new Date(ms).toISOString();

/**
 * Every item of one endpoint's log from `since` up to `untilMs`, oldest
 * first, page by page. Only the first page asks by time: the next ones
 * continue after the last id, ids being in time order, so each page is one
 * walk of the (endpoint, id) index.
 */
async function readLog<T extends { id: string; at: Date }>(
  list: (options: ListOptions) => Promise<T[]>,
  since: Date,
  untilMs: number,
): Promise<T[]> {
  const items: T[] = [];
  let afterId: string | undefined;
  for (;;) {
    const page = await list(afterId === undefined ? { since, limit: MAX_LIST_LIMIT } : { afterId, limit: MAX_LIST_LIMIT });
    for (const item of page) {
      if (item.at.getTime() > untilMs) return items;
      items.push(item);
    }
    if (page.length < MAX_LIST_LIMIT) return items;
    afterId = page[page.length - 1].id;
  }
}

/** A stored decision reduced to what the replay compares with (old records read as far as they go). */
function recordedRound(decision: DecisionRecord): RecordedRound {
  const view = decisionView(decision.record);
  let launches = 0;
  for (const action of view.actions) if (action.kind === 'LAUNCH' && action.outcome === 'DONE') launches += action.count;
  const inputs = view.inputs;
  return {
    at: decision.at,
    // Burst and held rounds decide with a host's last-second reading, not a stored sample: nothing to pair a replayed round with.
    round: view.round === 'TRIGGER' || isSurgeRound(view) ? 'trigger' : 'evaluate',
    state: view.state,
    current: view.current,
    target: view.target,
    after: view.after,
    launches,
    policy: inputs ? { rules: inputs.rules, minInstances: inputs.minInstances, maxInstances: inputs.maxInstances, rampLimit: inputs.rampLimit } : null,
  };
}

/**
 * `replayScaling`: checks every argument first (nothing is read for a bad
 * one), then reads the endpoint's samples in the window and the decisions
 * and launch events around it, and hands them to the engine.
 */
export class ReplayService {
  constructor(private readonly options: { store: Store; clock: () => Date; retention: Retention }) {}

  get retention(): Retention {
    return this.options.retention;
  }

  async replay(args: ReplayArgs): Promise<ReplayAnswer> {
    const { store, retention } = this.options;
    const record = await store.endpoints.get(args.endpoint);
    if (!record) throw notFound('endpoint', args.endpoint);
    const config = parseEndpointConfigCached(record.configText);
    const { policy, rules } = checkPolicy(args.policy, config.scaling.rampLimit);
    const bands = checkBands(args.bands);
    const launchSeconds = checkLaunchSeconds(args.launchSeconds);
    const undivided = new Set([...UNDIVIDED_METRICS, ...checkMetricNames('undivided', args.undivided)]);

    const now = this.options.clock().getTime();
    const oldest = now - retention.samplesSeconds * 1000;
    const kept = `metric samples are kept ${duration(retention.samplesSeconds)} (the oldest now from ${iso(oldest)})`;
    for (const field of ['from', 'to'] as const) {
      const value = args[field];
      if (value && value.getTime() < oldest - RETENTION_SLACK_MS) {
        throw badInput(`${field} ${value.toISOString()} is before what is retained: ${kept}; replay from ${iso(oldest)} on, or leave out from for all that is retained`, {
          field,
          retentionSeconds: retention.samplesSeconds,
          oldest: iso(oldest),
        });
      }
    }
    const from = Math.max(args.from?.getTime() ?? oldest, oldest - RETENTION_SLACK_MS);
    const to = Math.min(args.to?.getTime() ?? now, now);
    if (from >= to) {
      throw badInput(`from ${iso(from)} must be before to ${iso(to)} (and before now)`, { field: args.to ? 'to' : 'from' });
    }

    const samples = await readLog((o) => store.samples.list(args.endpoint, o), new Date(from), to);
    const gaps: number[] = [];
    for (let i = 1; i < samples.length; i++) gaps.push(samples[i].at.getTime() - samples[i - 1].at.getTime());
    const interval = median(gaps) ?? 0;
    const first = samples[0]?.at.getTime() ?? from;
    const last = samples[samples.length - 1]?.at.getTime() ?? to;
    const decisions = await readLog(
      (o) => store.decisions.list(args.endpoint, o),
      new Date(first - DECISIONS_BEFORE_MS - 2 * interval),
      last + 2 * interval + 1000,
    );

    let launch = launchModel(launchSeconds, []);
    if (launchSeconds === null) {
      let events = await readLog((o) => store.events.list(args.endpoint, o), new Date(from - LAUNCHES_BEFORE_MS), to);
      let times = launchToReadyTimes(events);
      // None in the window: the endpoint's latest launches are the next best guess.
      if (times.length === 0) {
        events = await store.events.list(args.endpoint, { limit: MAX_LIST_LIMIT });
        times = launchToReadyTimes(events);
      }
      launch = launchModel(null, times);
    }

    const report = replayScaling({
      endpoint: args.endpoint,
      policy,
      rules,
      samples,
      decisions: decisions.map(recordedRound),
      launch,
      decommissionedTimeout: config.endpoint.decommissionedTimeout,
      staticInstances: config.endpoint.staticInstances.length,
      bands,
      undivided,
      state: record.state,
    });
    const decisionsFrom = now - retention.decisionsSeconds * 1000;
    if (samples.length > 0 && first < decisionsFrom - RETENTION_SLACK_MS) {
      report.notes.push(
        `decisions are kept ${duration(retention.decisionsSeconds)}, samples ${duration(retention.samplesSeconds)}: before ${iso(decisionsFrom)} the recorded side has no decisions to compare with`,
      );
    }
    return { ...report, retention };
  }
}
