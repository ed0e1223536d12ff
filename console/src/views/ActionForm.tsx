import { createSignal, Show, type JSX } from 'solid-js';
import { describeError } from '../api';
import { Outcome } from './Outcome';

/** A button that opens a small form asking for a reason, runs `run`, and says what happened in words. */
export function ActionForm(props: { label: string; field?: string; unlock?: boolean; run: (text: string, unlockId: string) => Promise<unknown>; done?: string; after?: () => void; children?: JSX.Element }) {
  const [open, setOpen] = createSignal(false);
  const [text, setText] = createSignal('');
  const [unlockId, setUnlockId] = createSignal('');
  const [error, setError] = createSignal<string | null>(null);
  const [ok, setOk] = createSignal<string | null>(null);
  const id = `f-${props.label.replace(/\W+/g, '-').toLowerCase()}`;
  const submit = async (e: Event) => {
    e.preventDefault();
    setError(null);
    setOk(null);
    try {
      await props.run(text(), unlockId().trim());
      setOk(props.done ?? `${props.label}: done`);
      setOpen(false);
      setText('');
    } catch (err) {
      setError(describeError(err));
    } finally {
      props.after?.();
    }
  };
  return (
    <div class="action">
      <button type="button" aria-expanded={open()} aria-controls={id} onClick={() => setOpen(!open())}>
        {props.label}
      </button>
      <Show when={open()}>
        <form id={id} onSubmit={submit}>
          <label for={`${id}-text`}>{props.field ?? 'Reason'}</label>
          <textarea id={`${id}-text`} aria-required="true" value={text()} onInput={(e) => setText(e.currentTarget.value)} />
          <Show when={props.unlock}>
            <label for={`${id}-unlock`}>Governance unlock id (from Governance, once k of M have signed)</label>
            <input id={`${id}-unlock`} aria-required="true" value={unlockId()} onInput={(e) => setUnlockId(e.currentTarget.value)} />
          </Show>
          {props.children}
          <button type="submit">Confirm {props.label.toLowerCase()}</button>
        </form>
      </Show>
      <Outcome error={error()} ok={ok()} />
    </div>
  );
}
