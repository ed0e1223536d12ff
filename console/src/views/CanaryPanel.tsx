import { createResource, For, Show } from 'solid-js';
import { api, describeError } from '../api';

interface Evidence {
  stage?: string;
  decision?: string;
  reason?: string;
  n?: { control: number; canary: number };
  mae?: { control: number; canary: number };
  relativeDeltaMae?: number | null;
  pValue?: number | null;
}
interface Promotion {
  stage: string;
  status: string;
  stageEnteredAt: string;
  samples: number;
  evidence: Evidence | null;
  ledger: Array<{ at?: string; kind?: string; type?: string; stage?: string; reason?: string }>;
}

const fmt = (v: number | null | undefined, digits = 3) => (v === null || v === undefined || !Number.isFinite(v) ? '—' : v.toPrecision(digits));

/** The canary's rollout: stage and status, the two arms with samples and MAE, p-value and the guard's decision. */
export function CanaryPanel(props: { modelId: string; tick: number }) {
  const [status] = createResource(() => [props.modelId, props.tick] as const, ([id]) => api<{ promotion: Promotion | null }>('GET', `/api/v1/models/${id}/promotion`));
  const p = () => status.latest?.promotion ?? null;
  const ev = () => p()?.evidence ?? null;
  return (
    <section aria-labelledby="canary-h">
      <h2 id="canary-h">Canary</h2>
      <Show when={status.error}>
        <p role="alert" class="problem">
          {describeError(status.error)}
        </p>
      </Show>
      <Show when={p()} fallback={<p>No rollout running for this version.</p>}>
        <p>
          Stage <strong>{p()!.stage}</strong> ({p()!.status}) since {p()!.stageEnteredAt}; {p()!.samples} measurement(s).
        </p>
        <table>
          <thead>
            <tr>
              <th scope="col">Arm</th>
              <th scope="col">Labelled samples</th>
              <th scope="col">MAE</th>
            </tr>
          </thead>
          <tbody>
            <tr>
              <th scope="row">control (champion)</th>
              <td>{ev()?.n?.control ?? '—'}</td>
              <td>{fmt(ev()?.mae?.control)}</td>
            </tr>
            <tr>
              <th scope="row">canary</th>
              <td>{ev()?.n?.canary ?? '—'}</td>
              <td>{fmt(ev()?.mae?.canary)}</td>
            </tr>
          </tbody>
        </table>
        <dl class="facts">
          <dt>Relative MAE change</dt>
          <dd>{ev()?.relativeDeltaMae === null || ev()?.relativeDeltaMae === undefined ? '—' : `${(ev()!.relativeDeltaMae! * 100).toFixed(2)} %`}</dd>
          <dt>p-value</dt>
          <dd>{fmt(ev()?.pValue)} (promotion needs p &lt; 0.05 with ≥ 1,000 samples per arm)</dd>
          <dt>Decision</dt>
          <dd>{ev()?.decision ? `${ev()!.decision}: ${ev()!.reason ?? ''}` : 'no measurement yet'}</dd>
        </dl>
        <details>
          <summary>Ledger (last {p()!.ledger.length})</summary>
          <ol>
            <For each={p()!.ledger}>{(l) => <li>{JSON.stringify(l)}</li>}</For>
          </ol>
        </details>
      </Show>
    </section>
  );
}
