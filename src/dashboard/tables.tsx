// The endpoint page's live tables: the decision timeline (each decision in words with its rule ranges, clamp, ramp cut and actions), the instances and the event log.
import { age, clock, range } from './format.js';
import type { Decision, EventRow, InstanceRow } from './queries.js';

/** Decisions shown in the timeline, newest first. */
const TIMELINE_SHOWN = 30;

/** A table's header row, one plain column title each. */
export function TableHead({ columns }: { columns: readonly string[] }) {
  return (
    <thead>
      <tr>
        {columns.map((column) => (
          <th key={column}>{column}</th>
        ))}
      </tr>
    </thead>
  );
}

export function DecisionTimeline({ decisions, now }: { decisions: readonly Decision[]; now: number }) {
  if (decisions.length === 0) return <p className="empty">No decision yet: the controller decides once per interval while the endpoint is managed.</p>;
  const shown = decisions.slice(-TIMELINE_SHOWN).reverse();
  return (
    <ol className="timeline">
      {shown.map((d) => {
        const changed = d.after !== d.current;
        return (
          <li key={d.id} data-decision={d.id} className={`decision ${changed ? (d.after > d.current ? 'up' : 'down') : 'hold'}`}>
            <div className="decision-head">
              <span className="when" title={d.at}>
                {clock(d.at)} · {age(d.at, now)} ago
              </span>
              <span className="move" data-field="move">
                {d.current} → {d.after} (target {d.target})
              </span>
              {d.round === 'TRIGGER' && <span className="tag">trigger: {d.cause}</span>}
              {d.conflict && <span className="tag bad">conflict</span>}
              {d.held && <span className="tag">held: {d.held}</span>}
            </div>
            <p className="summary" data-field="summary">
              {d.summary}
            </p>
            {d.rules.length > 0 && (
              <table className="rule-ranges">
                <tbody>
                  {d.rules.map((r) => (
                    <tr key={r.rule}>
                      <td>
                        <code>{r.rule}</code>
                      </td>
                      <td>{r.noData ? 'no data: left out' : r.value === null ? '' : `${r.metric} ${r.value.toFixed(2)}`}</td>
                      <td>needs {range(r.min, r.max)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
            <div className="decision-steps">
              ideal {range(d.ideal.min, d.ideal.max)} → clamped {range(d.clamped.min, d.clamped.max)} → target {d.target}
              {d.rampLimit !== null && `; ramp limit ${d.rampLimit}, cut ${d.rampCut}`}
            </div>
            {d.actions.length > 0 && (
              <ul className="actions">
                {d.actions.map((a, i) => (
                  <li key={i}>
                    <b>{a.kind}</b>
                    {a.count > 1 ? ` ×${a.count}` : ''} {a.instance ? <code>{a.instance.slice(0, 8)}</code> : null} {a.outcome !== 'DONE' && <span className="tag">{a.outcome}</span>}{' '}
                    <span className="reason">{a.reason}</span>
                  </li>
                ))}
              </ul>
            )}
            {d.notes.map((n) => (
              <p key={n} className="note">
                {n}
              </p>
            ))}
          </li>
        );
      })}
    </ol>
  );
}

export function InstanceTable({ instances, now }: { instances: readonly InstanceRow[]; now: number }) {
  if (instances.length === 0) return <p className="empty">No instance.</p>;
  return (
    <table className="instances">
      <TableHead columns={['instance', 'manager', 'status', 'address', 'reason', 'age']} />
      <tbody>
        {instances.map((i) => (
          <tr key={i.id} data-instance={i.id} data-status={i.status}>
            <td>
              <code title={i.id}>{i.id.slice(0, 8)}</code>
            </td>
            <td>{i.manager?.name ?? '–'}</td>
            <td>
              <span className={`status status-${i.status.toLowerCase()}`}>{i.status}</span>
            </td>
            <td>{i.address ?? '–'}</td>
            <td className="reason">{i.reason ?? ''}</td>
            <td>{age(i.createdAt, now)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export function EventLog({ events }: { events: readonly EventRow[] }) {
  if (events.length === 0) return <p className="empty">No event.</p>;
  return (
    <table className="events">
      <tbody>
        {[...events].reverse().map((e) => (
          <tr key={e.id} data-event={e.kind}>
            <td className="when" title={e.at}>
              {clock(e.at)}
            </td>
            <td>
              <code>{e.kind}</code>
            </td>
            <td>{e.message}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
