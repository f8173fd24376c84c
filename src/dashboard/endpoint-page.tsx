// One endpoint's page: live charts of its rules' metrics with their bands and of instances against the target, its actions and rules editor, the decision timeline, its instances and its event log.
import { useCallback, useEffect, useMemo, useState } from 'react';
import type { Api, ApiError } from './api.js';
import { bandsOf, ruleMetrics } from './bands.js';
import { Chart, type Series } from './charts.js';
import { Controls } from './controls.js';
import { appendSample, applyInstanceChange, seconds, tally } from './format.js';
import { useApiError, useNow, useSubscription } from './live.js';
import {
  DECISIONS_LIVE,
  ENDPOINT,
  EVENTS_LIVE,
  HISTORY_DECISIONS,
  HISTORY_SAMPLES,
  INSTANCES_LIVE,
  SAMPLES_LIVE,
  type Decision,
  type EndpointDetail,
  type EventRow,
  type InstanceChangeItem,
  type Sample,
} from './queries.js';
import { DecisionTimeline, EventLog, InstanceTable } from './tables.js';

/** Events kept in the page's log. */
const EVENTS_KEPT = 200;

export function EndpointPage(props: { api: Api; name: string; onError(error: ApiError): void }) {
  const { api, name, onError } = props;
  const [detail, setDetail] = useState<EndpointDetail | null | undefined>(undefined);
  const now = useNow();
  const { error, fail, clear } = useApiError(onError);
  const load = useCallback(() => {
    api.request<{ endpoint: EndpointDetail | null }>(ENDPOINT, { name }).then((d) => {
      clear();
      setDetail(d.endpoint);
    }, fail);
  }, [api, name, fail]);
  useEffect(load, [load]);

  const update = (change: (d: EndpointDetail) => EndpointDetail) => setDetail((d) => (d ? change(d) : d));
  const vars = { endpoint: name };
  useSubscription<{ metricSamples: Sample }>(api, SAMPLES_LIVE, vars, ({ metricSamples: s }) =>
    update((d) => ({ ...d, metrics: !d.metrics || d.metrics.at <= s.at ? s : d.metrics, metricHistory: appendSample(d.metricHistory, s, HISTORY_SAMPLES) })),
  fail);
  useSubscription<{ scalingDecisions: Decision }>(api, DECISIONS_LIVE, vars, ({ scalingDecisions: decision }) =>
    update((d) => {
      if (d.decisions.some((x) => x.id === decision.id)) return d;
      const decisions = [...d.decisions, decision].sort((a, b) => (a.at < b.at ? -1 : 1)).slice(-HISTORY_DECISIONS);
      return { ...d, decisions };
    }),
  fail);
  useSubscription<{ instanceChanges: InstanceChangeItem }>(api, INSTANCES_LIVE, vars, ({ instanceChanges: c }) =>
    update((d) => ({ ...d, instances: applyInstanceChange(d.instances, c.change, c.instance) })),
  fail);
  useSubscription<{ endpointEvents: EventRow }>(api, EVENTS_LIVE, vars, ({ endpointEvents: event }) => {
    update((d) => (d.events.some((e) => e.id === event.id) ? d : { ...d, events: [...d.events, event].slice(-EVENTS_KEPT) }));
    // State and configuration changes come as events; the page reads the endpoint again for them.
    if (event.kind === 'STATE_CHANGED' || event.kind === 'CONFIG_CHANGED' || event.kind === 'ENDPOINT_UNMANAGED' || event.kind === 'ENDPOINT_MANAGED') load();
  }, fail);

  if (detail === undefined) return <p className="loading">{error ? <span role="alert" className="error">{error.message}</span> : 'Loading…'}</p>;
  if (detail === null) {
    return (
      <p role="alert" className="error">
        There is no endpoint named “{name}”. <a href="/" data-route>Back to the overview</a>
      </p>
    );
  }
  const t = tally(detail.instances);
  const latest = detail.decisions.at(-1);
  return (
    <div className="endpoint-page" data-endpoint-page={detail.name}>
      <h2>
        {detail.name} <span className={`state state-${detail.state.toLowerCase()}`} data-field="state">{detail.state}</span>
        <span className="url">{detail.config.endpoint.url}</span>
      </h2>
      <p className="counts-line">
        <span data-field="running">{t.running}</span> running · <span data-field="starting">{t.starting}</span> starting ·{' '}
        <span data-field="draining">{t.draining}</span> draining{t.pending > 0 ? ` · ${t.pending} pending` : ''} → target{' '}
        <span data-field="target">{latest ? latest.target : '–'}</span>
      </p>
      {error && (
        <p role="alert" className="error">
          {error.message}
        </p>
      )}
      {detail.warnings.map((w) => (
        <p key={w} className="warning">
          {w}
        </p>
      ))}
      <Controls api={api} endpoint={detail} onChanged={load} />
      <Charts detail={detail} />
      <div className="columns">
        <section>
          <h3>Decisions</h3>
          <DecisionTimeline decisions={detail.decisions} now={now} />
        </section>
        <section>
          <h3>Instances ({detail.instances.length})</h3>
          <InstanceTable instances={detail.instances} now={now} />
          <h3>Event log</h3>
          <EventLog events={detail.events} />
        </section>
      </div>
    </div>
  );
}

function Charts({ detail }: { detail: EndpointDetail }) {
  const rules = detail.config.scaling.rules;
  // The page renders every second (ages move): the rules are read again only when they change.
  const metrics = useMemo(() => ruleMetrics(rules), [rules]);
  const shown = metrics.length > 0 ? metrics : ['rate'];
  const samples = detail.metricHistory;
  const times = samples.map((s) => seconds(s.at));
  const lastSample = samples.at(-1)?.id;
  const instances = useMemo(() => instanceSeries(samples, detail.decisions), [samples, detail.decisions]);
  const bands = useMemo(() => bandsOf(rules), [rules]);
  return (
    <section className="charts">
      {shown.map((metric) => (
        <Chart
          key={metric}
          name={metric}
          times={times}
          lastId={lastSample}
          bands={bands.filter((band) => band.metric === metric)}
          series={[{ label: `${metric} per instance`, values: samples.map((s) => s.metrics[metric] ?? null), color: '#1f6feb' }]}
        />
      ))}
      <Chart
        name="instances"
        times={instances.times}
        lastId={detail.decisions.at(-1)?.id}
        bands={bands.filter((band) => band.metric === 'instances')}
        series={[
          { label: 'serving (reported)', values: instances.serving, color: '#1f6feb' },
          { label: 'target', values: instances.target, color: '#d1242f', dash: [8, 4], stepped: true },
        ]}
      />
    </section>
  );
}

/**
 * Samples (instances that reported) and decisions (the target) on one time
 * axis: each time either has, the target carried forward between decisions.
 */
function instanceSeries(samples: readonly Sample[], decisions: readonly Decision[]): { times: number[]; serving: Series; target: Series } {
  const points = [
    ...samples.map((s) => ({ t: seconds(s.at), serving: s.instances as number | null, target: null as number | null })),
    ...decisions.map((d) => ({ t: seconds(d.at), serving: null, target: d.target })),
  ].sort((a, b) => a.t - b.t);
  let target: number | null = null;
  const times: number[] = [];
  const serving: Series = [];
  const targets: Series = [];
  for (const point of points) {
    if (point.target !== null) target = point.target;
    times.push(point.t);
    serving.push(point.serving);
    targets.push(target);
  }
  return { times, serving, target: targets };
}
