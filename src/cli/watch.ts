// `reactor watch NAME`: an endpoint's instances, latest sample and latest decision, live over graphql-ws (redrawn on a terminal, one line per update otherwise).
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { CliError, type GraphQLClient } from './client.js';
import { isoSeconds, table } from './format.js';

export interface WatchInstance {
  id: string;
  status: string;
  address: string | null;
  reason: string | null;
}

export interface WatchSample {
  id: string;
  at: string;
  instances: number;
  metrics: Record<string, number>;
}

export interface WatchDecision {
  id: string;
  at: string;
  current: number;
  target: number;
  summary: string;
}

interface WatchChange {
  id: string;
  at: string;
  change: string;
  instance: WatchInstance;
}

/** What the screen shows; updated by each item of the three streams. */
export interface WatchState {
  endpoint: string;
  state: string;
  instances: WatchInstance[];
  sample: WatchSample | null;
  decision: WatchDecision | null;
}

export type WatchUpdate =
  | { type: 'snapshot'; state: WatchState }
  | { type: 'sample'; sample: WatchSample }
  | { type: 'decision'; decision: WatchDecision }
  | { type: 'instance'; change: WatchChange };

export interface WatchOptions {
  graphql: GraphQLClient;
  name: string;
  write: (text: string) => void;
  /** Redraw the whole view (a terminal) instead of printing one line per update. */
  redraw: boolean;
  json: boolean;
  formatMetrics: (metrics: Record<string, number>) => string;
  /** Resolves when watching should end (SIGINT); default: never. */
  until?: Promise<void>;
}

const INSTANCE_FIELDS = 'id status address reason';
const SAMPLE_FIELDS = 'id at instances metrics';
const DECISION_FIELDS = 'id at current target summary';

/** The whole view as text: header, instance table, latest sample, latest decision. */
export function renderWatch(state: WatchState, formatMetrics: (m: Record<string, number>) => string): string {
  const lines = [`${state.endpoint}  ${state.state}  ${state.instances.length} instance${state.instances.length === 1 ? '' : 's'}   (Ctrl-C to quit)`, ''];
  lines.push(
    state.instances.length === 0
      ? 'no instances'
      : table(
          ['ID', 'STATUS', 'ADDRESS', 'REASON'],
          state.instances.map((i) => [i.id, i.status, i.address, i.reason]),
        ),
  );
  lines.push('');
  lines.push(
    state.sample
      ? `sample    ${isoSeconds(state.sample.at)}  ${state.sample.instances} reporting  ${formatMetrics(state.sample.metrics)}`
      : 'sample    none yet',
  );
  lines.push(
    state.decision
      ? `decision  ${isoSeconds(state.decision.at)}  ${state.decision.current} → ${state.decision.target}  ${state.decision.summary}`
      : 'decision  none yet',
  );
  return `${lines.join('\n')}\n`;
}

/** One update as one line (stdout is not a terminal). */
export function updateLine(update: WatchUpdate, formatMetrics: (m: Record<string, number>) => string): string {
  switch (update.type) {
    case 'snapshot': {
      const s = update.state;
      return `${isoSeconds(new Date())}  watching  ${s.endpoint} ${s.state}, ${s.instances.length} instance${s.instances.length === 1 ? '' : 's'}: ${
        s.instances.map((i) => `${i.id} ${i.status}`).join(', ') || 'none'
      }`;
    }
    case 'sample':
      return `${isoSeconds(update.sample.at)}  sample    ${update.sample.instances} reporting ${formatMetrics(update.sample.metrics)}`;
    case 'decision':
      return `${isoSeconds(update.decision.at)}  decision  ${update.decision.current} → ${update.decision.target}: ${update.decision.summary}`;
    case 'instance': {
      const { change, instance, at } = update.change;
      return `${isoSeconds(at)}  instance  ${instance.id} ${change} ${instance.status}${instance.address ? ` ${instance.address}` : ''}${instance.reason ? ` (${instance.reason})` : ''}`;
    }
  }
}

/** Applies one update to the view. */
export function applyUpdate(state: WatchState, update: WatchUpdate): WatchState {
  switch (update.type) {
    case 'snapshot':
      return update.state;
    case 'sample':
      return { ...state, sample: update.sample };
    case 'decision':
      return { ...state, decision: update.decision };
    case 'instance': {
      const { change, instance } = update.change;
      const others = state.instances.filter((i) => i.id !== instance.id);
      return { ...state, instances: change === 'REMOVED' ? others : [...others, instance].sort((a, b) => (a.id < b.id ? -1 : 1)) };
    }
  }
}

/**
 * Reads the endpoint's current view over HTTP, then follows the three
 * subscriptions from the ids that view ended at (afterId), so nothing that
 * happened in between is lost. If the WebSocket drops, it reconnects and
 * resumes after the last ids it saw. Ends when `until` resolves.
 */
export async function watchEndpoint(options: WatchOptions): Promise<void> {
  const { graphql, name, write, json } = options;
  const data = await graphql.request<{
    endpoint: {
      name: string;
      state: string;
      instances: WatchInstance[];
      metrics: WatchSample | null;
      decisions: WatchDecision[];
      events: { id: string }[];
    } | null;
  }>(
    `query($name: String!) { endpoint(name: $name) { name state instances { ${INSTANCE_FIELDS} }
      metrics { ${SAMPLE_FIELDS} } decisions(limit: 1) { ${DECISION_FIELDS} } events(limit: 1) { id } } }`,
    { name },
  );
  const endpoint = data.endpoint;
  if (!endpoint) throw new CliError(`endpoint "${name}" does not exist`, 'NOT_FOUND');
  let state: WatchState = {
    endpoint: name,
    state: endpoint.state,
    instances: endpoint.instances,
    sample: endpoint.metrics,
    decision: endpoint.decisions.at(-1) ?? null,
  };
  const after = {
    metricSamples: endpoint.metrics?.id ?? null,
    scalingDecisions: endpoint.decisions.at(-1)?.id ?? null,
    instanceChanges: endpoint.events.at(-1)?.id ?? null,
  };

  const show = (update: WatchUpdate) => {
    state = applyUpdate(state, update);
    if (json) write(`${JSON.stringify(update.type === 'snapshot' ? { type: 'snapshot', ...update.state } : update)}\n`);
    else if (options.redraw) write(`\x1b[H\x1b[2J${renderWatch(state, options.formatMetrics)}`);
    else write(`${updateLine(update, options.formatMetrics)}\n`);
  };
  show({ type: 'snapshot', state });

  const url = graphql.api.replace(/^http/, 'ws');
  let client: Client | undefined;
  let stopping = false;
  let failure: ((error: Error) => void) | undefined;
  const failed = new Promise<never>((_, reject) => (failure = reject));
  const unsubscribes: (() => void)[] = [];

  const follow = () => {
    client = createClient({
      url,
      webSocketImpl: WebSocket,
      connectionParams: graphql.apiKey ? { apiKey: graphql.apiKey } : undefined,
      retryAttempts: 0,
      lazy: false,
    });
    let retried = false;
    const retry = (error: unknown) => {
      if (stopping || retried) return;
      retried = true;
      const message = error instanceof Error ? error.message : (error as { reason?: string })?.reason || JSON.stringify(error);
      // A permanent refusal (bad key, unknown endpoint) ends the watch; a dropped connection resumes after a second.
      if (/4403|Forbidden|UNAUTHENTICATED/.test(message)) return failure?.(new CliError(`watch: ${message}`, 'UNAUTHENTICATED'));
      if (!json && !options.redraw) write(`${isoSeconds(new Date())}  watch     connection lost (${message}); resuming\n`);
      for (const unsubscribe of unsubscribes.splice(0)) unsubscribe();
      void client?.dispose();
      setTimeout(() => !stopping && follow(), 1000).unref();
    };
    const subscribe = <T extends { id: string }>(topic: keyof typeof after, fields: string, onItem: (item: T) => void) => {
      unsubscribes.push(
        client!.subscribe<Record<string, T>>(
          {
            query: `subscription($e: String, $a: ID) { ${topic}(endpoint: $e, afterId: $a) { ${fields} } }`,
            variables: { e: name, a: after[topic] },
          },
          {
            next: (value) => {
              if (value.errors?.length) return failure?.(new CliError(`watch: ${value.errors[0].message}`));
              const item = value.data?.[topic];
              if (!item) return;
              after[topic] = item.id;
              onItem(item);
            },
            error: retry,
            complete: () => retry(new Error('the server ended the stream')),
          },
        ),
      );
    };
    subscribe<WatchSample>('metricSamples', SAMPLE_FIELDS, (sample) => show({ type: 'sample', sample }));
    subscribe<WatchDecision>('scalingDecisions', DECISION_FIELDS, (decision) => show({ type: 'decision', decision }));
    subscribe<WatchChange>('instanceChanges', `id at change instance { ${INSTANCE_FIELDS} }`, (change) => show({ type: 'instance', change }));
  };
  follow();
  try {
    await Promise.race([options.until ?? new Promise<void>(() => {}), failed]);
  } finally {
    stopping = true;
    for (const unsubscribe of unsubscribes.splice(0)) unsubscribe();
    await client?.dispose();
  }
}
