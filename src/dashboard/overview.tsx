// The overview: every endpoint (state, instances against the target, rate, response time, rules, last decision, sparkline) and every manager (slots, status, controller), live.
import { useCallback, useEffect, useState } from 'react';
import type { Api, ApiError } from './api.js';
import { Sparkline } from './charts.js';
import { age, appendSample, applyInstanceChange, clock, endpointPath, formatNumber, seconds, tally } from './format.js';
import { useApiError, useDebounced, useNow, useSubscription } from './live.js';
import { TableHead } from './tables.js';
import {
  DECISIONS_LIVE_BRIEF,
  EVENTS_LIVE,
  INSTANCES_LIVE_BRIEF,
  MANAGERS,
  OVERVIEW,
  SAMPLES_LIVE,
  SPARK_SAMPLES,
  type Controller,
  type DecisionBrief,
  type EndpointSummary,
  type InstanceBrief,
  type EventRow,
  type InstanceChangeItem,
  type ManagerRow,
  type Sample,
} from './queries.js';

/** Event kinds after which the list of endpoints or their configuration is read again. */
const RELOAD_ON = new Set(['ENDPOINT_MANAGED', 'ENDPOINT_UNMANAGED', 'CONFIG_CHANGED', 'STATE_CHANGED', 'CONTROLLER_ELECTED', 'MANAGER_LOST', 'MANAGER_READY']);
/** Managers' slots and heartbeats have no subscription: they are read again this often. */
const MANAGERS_EVERY_MS = 5000;

interface OverviewData {
  endpoints: EndpointSummary[];
  managers: ManagerRow[];
  controller: Controller | null;
}

export function Overview(props: { api: Api; onError(error: ApiError): void }) {
  const { api, onError } = props;
  const [data, setData] = useState<OverviewData | null>(null);
  const now = useNow();
  const { error, fail, clear } = useApiError(onError);

  const load = useCallback(() => {
    api.request<OverviewData>(OVERVIEW).then((d) => {
      clear();
      setData(d);
    }, fail);
  }, [api, fail]);
  const reload = useDebounced(load, 300);
  useEffect(load, [load]);
  useEffect(() => {
    const timer = setInterval(() => {
      api.request<Pick<OverviewData, 'managers' | 'controller'>>(MANAGERS).then((m) => setData((d) => d && { ...d, ...m }), fail);
    }, MANAGERS_EVERY_MS);
    return () => clearInterval(timer);
  }, [api, fail]);

  const update = (name: string, change: (e: EndpointSummary) => EndpointSummary) =>
    setData((d) => d && { ...d, endpoints: d.endpoints.map((e) => (e.name === name ? change(e) : e)) });

  useSubscription<{ metricSamples: Sample }>(api, SAMPLES_LIVE, {}, ({ metricSamples: s }) =>
    update(s.endpoint, (e) => ({ ...e, metrics: !e.metrics || e.metrics.at <= s.at ? s : e.metrics, metricHistory: appendSample(e.metricHistory, s, SPARK_SAMPLES) })),
  fail);
  useSubscription<{ scalingDecisions: DecisionBrief }>(api, DECISIONS_LIVE_BRIEF, {}, ({ scalingDecisions: d }) =>
    update(d.endpoint, (e) => ({ ...e, decisions: e.decisions[0] && e.decisions[0].at > d.at ? e.decisions : [d] })),
  fail);
  useSubscription<{ instanceChanges: InstanceChangeItem<InstanceBrief> }>(api, INSTANCES_LIVE_BRIEF, {}, ({ instanceChanges: c }) =>
    update(c.instance.endpoint, (e) => ({ ...e, instances: applyInstanceChange(e.instances, c.change, c.instance) })),
  fail);
  useSubscription<{ endpointEvents: EventRow }>(api, EVENTS_LIVE, {}, ({ endpointEvents: event }) => {
    if (RELOAD_ON.has(event.kind)) reload();
  }, fail);

  if (!data) return <p className="loading">{error ? <span role="alert" className="error">{error.message}</span> : 'Loading…'}</p>;
  return (
    <div className="overview">
      {error && (
        <p role="alert" className="error">
          {error.message}
        </p>
      )}
      <section>
        <h2>Endpoints ({data.endpoints.length})</h2>
        {data.endpoints.length === 0 ? (
          <p className="empty">No endpoint yet: create one with <code>reactor manage NAME &lt; conf</code> or the explorer's manageEndpoint.</p>
        ) : (
          <table className="endpoints">
            <thead>
              <tr>
                <th>endpoint</th>
                <th>state</th>
                <th title="instances running · starting · draining → the target of the last decision">running · starting · draining → target</th>
                <th>rate /s</th>
                <th>response ms</th>
                <th>rules</th>
                <th>last decision</th>
                <th>rate, last {SPARK_SAMPLES} samples</th>
              </tr>
            </thead>
            <tbody>
              {data.endpoints.map((endpoint) => (
                <EndpointRow key={endpoint.name} endpoint={endpoint} now={now} />
              ))}
            </tbody>
          </table>
        )}
      </section>
      <Managers managers={data.managers} controller={data.controller} now={now} />
    </div>
  );
}

function EndpointRow({ endpoint, now }: { endpoint: EndpointSummary; now: number }) {
  const t = tally(endpoint.instances);
  const decision = endpoint.decisions[0];
  const rate = endpoint.metrics?.metrics.rate;
  const response = endpoint.metrics?.metrics.response;
  const history = endpoint.metricHistory;
  return (
    <tr data-endpoint={endpoint.name}>
      <td>
        <a href={endpointPath(endpoint.name)} data-route className="endpoint-name">
          {endpoint.name}
        </a>
        <div className="url">{endpoint.config.endpoint.url}</div>
      </td>
      <td>
        <span className={`state state-${endpoint.state.toLowerCase()}`} data-field="state">
          {endpoint.state}
        </span>
      </td>
      <td className="counts">
        <span data-field="running" title="running">{t.running}</span>
        {' · '}
        <span data-field="starting" title="starting">{t.starting}</span>
        {' · '}
        <span data-field="draining" title="draining">{t.draining}</span>
        {' → '}
        <span data-field="target" title="target of the last decision">{decision ? decision.target : '–'}</span>
        {t.pending > 0 && <div className="pending">{t.pending} pending</div>}
      </td>
      <td className="num" data-field="rate" data-value={rate ?? ''}>
        {formatNumber(rate)}
      </td>
      <td className="num" data-field="response" data-value={response ?? ''}>
        {formatNumber(response)}
      </td>
      <td>
        <code data-field="rules">{endpoint.config.scaling.rules || 'none'}</code>
        <div className="bounds">
          {endpoint.config.scaling.minInstances}..{endpoint.config.scaling.maxInstances}
        </div>
      </td>
      <td className="decision" data-field="decision" data-decision-id={decision?.id ?? ''}>
        {decision ? (
          <>
            <span className="when">{age(decision.at, now)} ago</span> {decision.summary}
          </>
        ) : (
          'none yet'
        )}
      </td>
      <td>
        <Sparkline label={`rate of ${endpoint.name}`} times={history.map((s) => seconds(s.at))} values={history.map((s) => s.metrics.rate ?? null)} />
      </td>
    </tr>
  );
}

function Managers({ managers, controller, now }: { managers: ManagerRow[]; controller: Controller | null; now: number }) {
  return (
    <section>
      <h2>Managers ({managers.length})</h2>
      <p className="controller" data-field="controller">
        {controller
          ? `Controller: ${controller.holder}, term ${controller.term}, lease until ${clock(controller.expiresAt)}`
          : 'No controller yet: no server has taken the controller lease.'}
      </p>
      <table className="managers">
        <TableHead columns={['manager', 'slots used / offered', 'status', 'heartbeat', 'role']} />
        <tbody>
          {managers.map((manager) => {
            const share = manager.slots > 0 ? Math.min(1, manager.usedSlots / manager.slots) : 1;
            const isController = controller !== null && controller.holder === manager.name;
            return (
              <tr key={manager.id} data-manager={manager.name}>
                <td>
                  {manager.name}
                  <div className="url">{manager.address}</div>
                </td>
                <td>
                  <div className="slots" role="meter" aria-valuemin={0} aria-valuemax={manager.slots} aria-valuenow={manager.usedSlots}>
                    <div className="slots-used" style={{ width: `${(share * 100).toFixed(1)}%` }} />
                  </div>
                  <span data-field="slots">
                    {manager.usedSlots} / {manager.slots}
                  </span>
                </td>
                <td>
                  <span className={`status status-${manager.status.toLowerCase()}`}>{manager.status}</span>
                  {manager.problems.map((p) => (
                    <div key={p} className="problem">
                      {p}
                    </div>
                  ))}
                </td>
                <td>{age(manager.lastSeen, now)} ago</td>
                <td data-field="role">{isController ? `controller (term ${controller.term})` : ''}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </section>
  );
}
