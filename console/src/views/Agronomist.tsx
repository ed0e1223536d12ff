import { createMemo, For } from 'solid-js';
import { live } from '../live-store';
import { href } from '../router';

const color = (v: number | null) => (v === null ? '#e5e7eb' : v >= 0.25 ? '#dc2626' : v >= 0.1 ? '#f59e0b' : '#16a34a');

/** A drift map across tenants (7-day DriftScore; red above critical, amber above warn). */
export function Agronomist() {
  const cells = createMemo(() => live.tenantIds().slice(0, 2000).map((id) => live.tenants[id]!).filter(Boolean));
  return (
    <section aria-labelledby="agro-h">
      <h1 id="agro-h">Agronomist</h1>
      <p>
        Drift map of {cells().length} tenants{live.tenantIds().length > 2000 ? ' (first 2,000)' : ''}: green below 0.1, amber to 0.25, red above; grey without reports.
      </p>
      <p>
        Accuracy: {cells().filter((t) => t.maeDelta !== null && t.maeDelta > 0.05).length} tenant(s) more than 5 % worse than their baseline MAE on their latest day;{' '}
        {cells().filter((t) => t.maeDelta !== null && t.maeDelta <= 0).length} at or better than baseline.
      </p>
      <ul class="driftmap" aria-label="Drift by tenant">
        <For each={cells()}>
          {(t) => (
            <li>
              <a href={href('tenant', t.id)} style={{ background: color(t.driftScore) }} title={`${t.id}: drift ${t.driftScore?.toFixed(3) ?? 'no data'}, MAE change ${t.maeDelta === null ? 'n/a' : `${(t.maeDelta * 100).toFixed(1)} %`}`} aria-label={`${t.id}: drift ${t.driftScore?.toFixed(3) ?? 'no data'}`} />
            </li>
          )}
        </For>
      </ul>
    </section>
  );
}
