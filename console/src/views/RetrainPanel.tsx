import { createResource, createSignal, For, onCleanup, Show } from 'solid-js';
import { api, describeError } from '../api';
import { onDelta } from '../live-store';

interface Refusal { code?: string; message?: string; at?: string }
interface RetrainStatus {
  saga: { sagaId: string; step: string; percent?: number; etaMs?: number; status?: string } | null;
  history: Array<{ sagaId: string; step: string; status?: string }>;
  safeguards: Record<string, Record<string, unknown> & { lastRefusal: Refusal | null }>;
}

interface Progress { sagaId: string; step: string; percent: number; etaMs: number | null }
/** Where each step stands (as the retrain actor publishes it) for a saga seen before its first progress event. */
const STEP_PERCENT: Record<string, number> = { starting: 5, snapshotting: 15, registering: 25, training: 40, validated: 100, failed: 100 };

/** Retraining saga progress and each safeguard with why it last refused (GET /tenants/:id/retrain). */
export function RetrainPanel(props: { tenantId: string; tick: number }) {
  const [status] = createResource(() => [props.tenantId, props.tick] as const, ([id]) => api<RetrainStatus>('GET', `/api/v1/tenants/${id}/retrain`));
  // Percent and ETA come with the saga's live `retrain.progress` events; the status route has the step.
  const [progress, setProgress] = createSignal<Progress | null>(null);
  onCleanup(onDelta((d) => d.tenantId === props.tenantId && d.type === 'retrain.progress' && void setProgress(d.data as Progress)));
  const live = (sagaId: string) => (progress()?.sagaId === sagaId ? progress() : null);
  const percent = (s: { sagaId: string; step: string; percent?: number }) => live(s.sagaId)?.percent ?? s.percent ?? STEP_PERCENT[s.step] ?? 0;
  const eta = (s: { sagaId: string; etaMs?: number }) => live(s.sagaId)?.etaMs ?? s.etaMs ?? null;
  return (
    <section aria-labelledby="retrain-h">
      <h2 id="retrain-h">Retraining and safeguards</h2>
      <Show when={status.error}>
        <p role="alert" class="problem">
          {describeError(status.error)}
        </p>
      </Show>
      <Show when={status.latest?.saga} fallback={<p>No retraining running.</p>}>
        {(s) => (
          <div>
            <label for="saga-progress">
              Saga {s().sagaId.slice(0, 8)}: {s().step}
              {`, ${percent(s())} %`}
              {eta(s()) ? `, about ${Math.max(1, Math.round(eta(s())! / 60000))} min left` : ''}
            </label>
            <progress id="saga-progress" max="100" value={percent(s())}>
              {percent(s())}%
            </progress>
          </div>
        )}
      </Show>
      <table>
        <thead>
          <tr>
            <th scope="col">Safeguard</th>
            <th scope="col">State</th>
            <th scope="col">Last refusal</th>
          </tr>
        </thead>
        <tbody>
          <For each={Object.entries(status.latest?.safeguards ?? {}).filter(([, g]) => g !== null && typeof g === 'object' && 'lastRefusal' in g)}>
            {([name, g]) => (
              <tr>
                <th scope="row">{name}</th>
                <td>{Object.entries(g).filter(([k]) => k !== 'lastRefusal').map(([k, v]) => `${k}: ${v === null ? '—' : String(v)}`).join(', ')}</td>
                <td>{g.lastRefusal ? `${g.lastRefusal.at ?? ''} ${g.lastRefusal.code ?? ''}: ${g.lastRefusal.message ?? ''}` : 'never refused'}</td>
              </tr>
            )}
          </For>
        </tbody>
      </table>
    </section>
  );
}
