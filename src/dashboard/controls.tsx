// The endpoint page's actions: start, stop, pause, and the rules and min/max editor, which previews through evaluateScaling what the autoscaler would do with the current metrics before saving.
import { useEffect, useState, type FormEvent } from 'react';
import type { Api, ApiError } from './api.js';
import { formatNumber, range } from './format.js';
import { EVALUATE, SET_OPTION, SET_STATE, type EndpointDetail, type EndpointState, type Evaluation } from './queries.js';

const STATES: { state: EndpointState; label: string; title: string }[] = [
  { state: 'RUNNING', label: 'Start', title: 'RUNNING: scaled by its rules within min..max' },
  { state: 'PAUSED', label: 'Pause', title: 'PAUSED: no instance is added or removed' },
  { state: 'STOPPED', label: 'Stop', title: 'STOPPED: every instance is removed' },
];

interface Draft {
  rules: string;
  min: string;
  max: string;
}

/** The evaluateScaling input for a draft, with the endpoint's latest sample (what the controller would read now). */
function evaluationInput(endpoint: EndpointDetail, draft: Draft) {
  const sample = endpoint.metrics;
  const running = endpoint.instances.filter((i) => ['RUNNING', 'STARTING', 'PENDING'].includes(i.status)).length;
  return {
    rules: draft.rules.trim() ? [draft.rules] : [],
    metrics: sample?.metrics ?? {},
    instances: sample?.instances ?? running,
    minInstances: Number(draft.min),
    maxInstances: Number(draft.max),
  };
}

export function Controls(props: { api: Api; endpoint: EndpointDetail; onChanged(): void }) {
  const { api, endpoint } = props;
  const scaling = endpoint.config.scaling;
  const saved: Draft = { rules: scaling.rules, min: String(scaling.minInstances), max: String(scaling.maxInstances) };
  const [draft, setDraft] = useState<Draft>(saved);
  const [busy, setBusy] = useState(false);
  const [message, setMessage] = useState<{ error: boolean; text: string } | null>(null);
  const [preview, setPreview] = useState<{ input: ReturnType<typeof evaluationInput>; result: Evaluation | null; error: string | null } | null>(null);
  const savedKey = JSON.stringify(saved);
  useEffect(() => setDraft(saved), [savedKey]); // eslint-disable-line react-hooks/exhaustive-deps
  const dirty = JSON.stringify(draft) !== savedKey;

  // The preview follows the draft and the latest sample, a moment after typing stops.
  const input = evaluationInput(endpoint, draft);
  const inputKey = JSON.stringify(input);
  useEffect(() => {
    if (!Number.isInteger(input.minInstances) || !Number.isInteger(input.maxInstances) || draft.min === '' || draft.max === '') {
      setPreview({ input, result: null, error: 'min and max must be whole numbers' });
      return;
    }
    let current = true;
    const timer = setTimeout(() => {
      api.request<{ evaluateScaling: Evaluation }>(EVALUATE, { input }).then(
        (d) => current && setPreview({ input, result: d.evaluateScaling, error: null }),
        (e: ApiError) => current && setPreview({ input, result: null, error: e.message }),
      );
    }, 250);
    return () => {
      current = false;
      clearTimeout(timer);
    };
  }, [api, inputKey]); // eslint-disable-line react-hooks/exhaustive-deps

  const act = async (what: string, run: () => Promise<unknown>) => {
    setBusy(true);
    setMessage(null);
    try {
      await run();
      setMessage({ error: false, text: what });
      props.onChanged();
    } catch (error) {
      setMessage({ error: true, text: (error as ApiError).message });
    } finally {
      setBusy(false);
    }
  };

  const setState = (state: EndpointState) =>
    act(`${endpoint.name} is ${state}`, () => api.request(SET_STATE, { name: endpoint.name, state }));

  const save = (event: FormEvent) => {
    event.preventDefault();
    const set = (key: string, value: string) => api.request(SET_OPTION, { name: endpoint.name, section: 'scaling', key, value });
    void act('rules saved', async () => {
      // Every step is validated whole, so min never passes max on the way: raise max first, or lower min first.
      const minFirst = Number(draft.min) <= scaling.maxInstances;
      const order: [string, string][] = minFirst
        ? [['min_instances', draft.min], ['max_instances', draft.max]]
        : [['max_instances', draft.max], ['min_instances', draft.min]];
      for (const [key, value] of order) if (value !== saved[key === 'min_instances' ? 'min' : 'max']) await set(key, value);
      if (draft.rules !== saved.rules) await set('rules', draft.rules);
    });
  };

  return (
    <section className="controls">
      <div className="state-buttons" role="group" aria-label="state">
        {STATES.map((s) => (
          <button key={s.state} type="button" title={s.title} disabled={busy || endpoint.state === s.state} onClick={() => void setState(s.state)}>
            {s.label}
          </button>
        ))}
        {message && (
          <span role={message.error ? 'alert' : 'status'} className={message.error ? 'error' : 'ok'} data-field="action-message">
            {message.text}
          </span>
        )}
      </div>
      <form className="rules-editor" onSubmit={save}>
        <label>
          rules
          <input name="rules" value={draft.rules} spellCheck={false} placeholder="e.g. 20<=rate<=50" onChange={(e) => setDraft({ ...draft, rules: e.target.value })} />
        </label>
        <label>
          min
          <input name="min" type="number" min={0} value={draft.min} onChange={(e) => setDraft({ ...draft, min: e.target.value })} />
        </label>
        <label>
          max
          <input name="max" type="number" min={0} value={draft.max} onChange={(e) => setDraft({ ...draft, max: e.target.value })} />
        </label>
        <button type="submit" disabled={busy || !dirty}>
          Save
        </button>
        <button type="button" disabled={busy || !dirty} onClick={() => setDraft(saved)}>
          Revert
        </button>
      </form>
      {preview && <Preview {...preview} />}
    </section>
  );
}

function Preview({ input, result, error }: { input: ReturnType<typeof evaluationInput>; result: Evaluation | null; error: string | null }) {
  const metrics = Object.entries(input.metrics)
    .map(([name, value]) => `${name} ${formatNumber(value, 2)}`)
    .join(', ');
  return (
    <div className="preview" data-preview-input={JSON.stringify(input)} data-preview={result ? JSON.stringify(result) : ''}>
      <span className="preview-inputs">
        With the latest sample ({metrics || 'no sample yet'}) over {input.instances} instance{input.instances === 1 ? '' : 's'}:
      </span>{' '}
      {error ? (
        <span role="alert" className="error">
          {error}
        </span>
      ) : result ? (
        <span data-field="preview">
          {result.rules.map((r) => `${r.rule} needs ${r.noData ? 'no data' : range(r.min, r.max)}`).join('; ')}
          {result.rules.length > 0 ? ' → ' : 'no rules → '}ideal {range(result.idealMin, result.idealMax)} → clamped {result.targetMin}..{result.targetMax} →{' '}
          <b>target {result.target}</b>
          {result.conflict ? ' (rules conflict: count kept)' : ''}
        </span>
      ) : (
        '…'
      )}
    </div>
  );
}
