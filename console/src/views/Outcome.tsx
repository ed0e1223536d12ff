import { Show } from 'solid-js';

/** What a form's last submission came to: the problem (an alert) or the confirmation (a status). */
export function Outcome(props: { error: string | null; ok?: string | null }) {
  return (
    <>
      <Show when={props.error}>
        <p role="alert" class="problem">
          {props.error}
        </p>
      </Show>
      <Show when={props.ok}>
        <p role="status">{props.ok}</p>
      </Show>
    </>
  );
}
