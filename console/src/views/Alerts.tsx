import { createResource, createSignal, For, onCleanup, Show } from 'solid-js';
import { api, describeError, roleAtLeast } from '../api';
import { live, onDelta } from '../live-store';
import { ActionForm } from './ActionForm';

interface Alert { id: string; tenantId: string | null; severity: 'P1' | 'P2' | 'P3'; kind: string; message: string; createdAt: string; ackedAt: string | null; ackedBy: string | null }
/** Acknowledgement SLAs by severity. */
const SLA_MS = { P1: 15 * 60_000, P2: 4 * 3_600_000, P3: 24 * 3_600_000 };

/** P1/P2/P3 feed with acknowledgement and SLA countdown. */
export function Alerts() {
  const [openOnly, setOpenOnly] = createSignal(true);
  const [severity, setSeverity] = createSignal('');
  const [alerts, { refetch }] = createResource(openOnly, (open) => api<{ items: Alert[] }>('GET', `/api/v1/alerts?open=${open}&limit=200`));
  const [now, setNow] = createSignal(Date.now());
  const clock = setInterval(() => setNow(Date.now()), 1000);
  const off = onDelta((d) => d.type === 'alerts.count' && void refetch());
  onCleanup(() => (off(), clearInterval(clock)));
  const sla = (a: Alert) => {
    if (a.ackedAt) return `acknowledged by ${a.ackedBy} at ${a.ackedAt}`;
    const ms = Date.parse(a.createdAt) + SLA_MS[a.severity] - now();
    const abs = Math.abs(ms);
    const text = `${Math.floor(abs / 3_600_000)}h ${Math.floor((abs % 3_600_000) / 60_000)}m ${Math.floor((abs % 60_000) / 1000)}s`;
    return ms >= 0 ? `${text} to acknowledge` : `SLA missed by ${text}`;
  };
  return (
    <section aria-labelledby="alerts-h">
      <h1 id="alerts-h">Alerts</h1>
      <div class="filters">
        <label>
          <input type="checkbox" checked={openOnly()} onChange={(e) => setOpenOnly(e.currentTarget.checked)} /> open only
        </label>
        <label>
          Severity{' '}
          <select value={severity()} onChange={(e) => setSeverity(e.currentTarget.value)}>
            <option value="">all</option>
            <option>P1</option>
            <option>P2</option>
            <option>P3</option>
          </select>
        </label>
      </div>
      <Show when={alerts.error}>
        <p role="alert" class="problem">
          {describeError(alerts.error)}
        </p>
      </Show>
      <ul class="cards" aria-label="Alerts" aria-live="polite">
        <For each={(alerts.latest?.items ?? []).filter((a) => !severity() || a.severity === severity())} fallback={<li>No alerts.</li>}>
          {(a) => (
            <li class={`card sev-${a.severity}`} data-alert={a.id}>
              <h2>
                <span class="sev">{a.severity}</span> {a.kind} {a.tenantId ? `· ${a.tenantId}` : ''}
              </h2>
              <p>{a.message}</p>
              <p>
                Raised {a.createdAt}; <span data-testid="sla">{sla(a)}</span>
              </p>
              <Show when={!a.ackedAt && roleAtLeast(live.who()?.role, 'MANAGER')}>
                <ActionForm label="Acknowledge" field="Note" run={(note) => api('POST', `/api/v1/alerts/${a.id}/ack`, note.trim() ? { note } : {}).then(refetch)} done="Acknowledged" />
              </Show>
            </li>
          )}
        </For>
      </ul>
    </section>
  );
}
