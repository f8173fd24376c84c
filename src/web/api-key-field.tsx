// The API key field of the explorer and the dashboard: a password input whose value is used (and remembered) on submit.
import { useEffect, useState, type FormEvent } from 'react';

export function ApiKeyField(props: { apiKey: string; onChange(key: string): void; className?: string; autoFocus?: boolean }) {
  const [draft, setDraft] = useState(props.apiKey);
  useEffect(() => setDraft(props.apiKey), [props.apiKey]);
  const submit = (event: FormEvent) => {
    event.preventDefault();
    props.onChange(draft.trim());
  };
  const dirty = draft.trim() !== props.apiKey;
  return (
    <form
      className={props.className ?? 'reactor-api-key'}
      onSubmit={submit}
      title="Sent as X-Auth-Key over HTTP and in the WebSocket connection_init payload; remembered in this browser."
    >
      <label htmlFor="reactor-api-key">API key</label>
      <input
        id="reactor-api-key"
        type="password"
        autoComplete="off"
        spellCheck={false}
        autoFocus={props.autoFocus}
        placeholder={props.apiKey ? '' : 'none'}
        value={draft}
        onChange={(event) => setDraft(event.target.value)}
      />
      <button type="submit" disabled={!dirty}>{draft.trim() || !props.apiKey ? 'Use' : 'Forget'}</button>
    </form>
  );
}
