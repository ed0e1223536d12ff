import { createResource, createSignal, For, onCleanup, Show } from 'solid-js';
import { api, describeError } from '../api';
import { onDelta } from '../live-store';

interface Unlock {
  id: string;
  action: string;
  justification: string;
  expiresAt: string;
  threshold: number;
  state: string;
  proposedBy: string;
  received: Array<{ memberId: string; name: string; at: string }>;
}

/** Unlock requests: k of M progress (live as shares arrive), who signed, expiry. */
export function Governance() {
  const [unlocks, { mutate, refetch }] = createResource(() => api<{ items: Unlock[] }>('GET', '/api/v1/governance/unlocks'));
  const [now, setNow] = createSignal(Date.now());
  const clock = setInterval(() => setNow(Date.now()), 1000);
  const off = onDelta((d) => {
    if (d.type !== 'governance.unlock') return;
    const u = d.data as Unlock;
    const items = unlocks.latest?.items ?? [];
    if (items.some((x) => x.id === u.id)) mutate({ items: items.map((x) => (x.id === u.id ? u : x)) });
    else void refetch();
  });
  onCleanup(() => (off(), clearInterval(clock)));
  const left = (at: string) => {
    const ms = Date.parse(at) - now();
    return ms <= 0 ? 'expired' : `${Math.floor(ms / 3_600_000)} h ${Math.floor((ms % 3_600_000) / 60_000)} min left`;
  };
  return (
    <section aria-labelledby="gov-h">
      <h1 id="gov-h">Governance</h1>
      <Show when={unlocks.error}>
        <p role="alert" class="problem">
          {describeError(unlocks.error)}
        </p>
      </Show>
      <Show when={(unlocks.latest?.items.length ?? 0) > 0} fallback={<p>No unlock requests.</p>}>
        <ul class="cards" aria-label="Unlock requests">
          <For each={unlocks.latest?.items}>
            {(u) => (
              <li class="card" data-unlock={u.id}>
                <h2>
                  {u.action} <small>({u.state})</small>
                </h2>
                <p>{u.justification}</p>
                <label>
                  Signatures <span data-testid="unlock-progress">{u.received.length} of {u.threshold}</span>
                  <progress max={u.threshold} value={u.received.length} />
                </label>
                <p>Signed by: {u.received.map((r) => r.name).join(', ') || 'nobody yet'}</p>
                <p>
                  Proposed by {u.proposedBy}; expires {u.expiresAt} ({left(u.expiresAt)})
                </p>
              </li>
            )}
          </For>
        </ul>
      </Show>
    </section>
  );
}
