import { createMemo, createResource, createSignal, For, onCleanup, Show } from 'solid-js';
import type { TenantDetail as Detail } from '../../../control-plane/live/protocol';
import { api, describeError, roleAtLeast } from '../api';
import { live, onDelta, requestDetail } from '../live-store';
import { ActionForm } from './ActionForm';
import { DriftChart, type DriftPoint } from './DriftChart';
import { FsmDiagram } from './FsmDiagram';
import { CanaryPanel } from './CanaryPanel';
import { RetrainPanel } from './RetrainPanel';

interface DriftResponse {
  window?: { config?: { psiWarn?: number; psiCritical?: number; breachDays?: number }; streak?: number; breachActive?: boolean };
  items: Array<{ day: string; report: { score: number | null; streak: number; breach: boolean; features: Record<string, { kl: number }>; models: Record<string, { relativeMaeDelta: number | null }> } }>;
}

/** One tenant: versions and lifecycle, drift, canary, retraining, safeguards and the actions the role allows. */
export function TenantDetail(props: { id: string }) {
  const [tick, setTick] = createSignal(0);
  let timer: ReturnType<typeof setTimeout> | undefined;
  const off = onDelta((d) => {
    if (d.tenantId !== props.id) return;
    clearTimeout(timer);
    timer = setTimeout(() => setTick((n) => n + 1), 50);
  });
  onCleanup(() => (off(), clearTimeout(timer)));

  const [detail] = createResource(() => [props.id, tick()] as const, ([id]) => requestDetail<Detail>(id));
  const [drift] = createResource(() => [props.id, tick()] as const, ([id]) => api<DriftResponse>('GET', `/api/v1/tenants/${id}/drift?limit=30`));
  const [selected, setSelected] = createSignal<string | null>(null);
  const summary = () => live.tenants[props.id] ?? detail.latest?.summary;
  const model = createMemo(() => {
    const d = detail.latest;
    if (!d) return null;
    return d.models.find((m) => m.id === selected()) ?? d.models.find((m) => m.id === d.summary.championId) ?? d.models[0] ?? null;
  });
  const history = () => (detail.latest?.transitions ?? []).filter((t) => t.modelVersionId === model()?.id);
  const points = (): DriftPoint[] =>
    [...(drift.latest?.items ?? [])].reverse().map((r) => {
      const kls = Object.values(r.report.features ?? {}).map((f) => f.kl);
      const maes = Object.values(r.report.models ?? {}).map((m) => m.relativeMaeDelta).filter((v): v is number => v !== null);
      return { day: r.day, psi: r.report.score, kl: kls.length ? Math.max(...kls) : null, mae: maes.length ? maes[0]! : null };
    });
  const role = () => live.who()?.role;
  const post = (path: string) => (reason: string) => api('POST', `/api/v1/tenants/${props.id}${path}`, { reason });
  // After any action (done or refused) the panels are read again: a refusal changes no tenant row, so no delta says so.
  const refresh = () => setTick((n) => n + 1);

  return (
    <section aria-labelledby="tenant-h">
      <h1 id="tenant-h">Tenant {props.id}</h1>
      <Show when={detail.error}>
        <p role="alert" class="problem">
          {describeError(detail.error)}
        </p>
      </Show>
      <Show when={summary()}>
        {(s) => (
          <dl class="facts" data-testid="tenant-facts">
            <dt>Stage</dt>
            <dd data-testid="detail-stage">{s().stage}</dd>
            <dt>Champion</dt>
            <dd data-testid="detail-champion">{s().championLabel ?? s().championId ?? '—'}</dd>
            <dt>Canary</dt>
            <dd>{s().canary ? `${s().canary!.label} at ${s().canary!.trafficPercent}% (${s().canary!.verdict ?? 'no verdict'})` : '—'}</dd>
            <dt>Locks</dt>
            <dd data-testid="detail-locks">
              {s().locks.forensic ? `forensic lock: ${s().locks.forensicReason ?? ''}` : 'no forensic lock'}
              {s().locks.cooldownUntil ? `; retrain cooldown until ${s().locks.cooldownUntil}` : ''}
            </dd>
            <dt>Open alerts</dt>
            <dd>{s().openAlerts}</dd>
          </dl>
        )}
      </Show>

      <Show when={roleAtLeast(role(), 'MANAGER')}>
        <section aria-labelledby="actions-h" class="actions" data-testid="actions">
          <h2 id="actions-h">Actions</h2>
          <ActionForm label="Retrain" run={post('/retrain')} done="Retraining started" after={refresh} />
          <Show when={roleAtLeast(role(), 'ADMIN')}>
            <ActionForm label="Rollback" run={post('/rollback')} done="Rolled back to the previous champion" after={refresh} />
            <Show when={!summary()?.locks.forensic} fallback={<ActionForm label="Lift forensic lock" field="Justification" unlock run={(justification, unlockId) => api('DELETE', `/api/v1/tenants/${props.id}/lock`, { justification, unlockId })} done="Forensic lock lifted" after={refresh} />}>
              <ActionForm label="Forensic lock" run={post('/lock')} done="Tenant locked" after={refresh} />
            </Show>
            <ActionForm label="Baseline reset" unlock run={(reason, unlockId) => api('POST', `/api/v1/tenants/${props.id}/baseline/reset`, { reason, ...(unlockId ? { unlockId } : {}) })} done="Drift baseline reset" after={refresh} />
          </Show>
        </section>
      </Show>

      <section aria-labelledby="versions-h">
        <h2 id="versions-h">Model versions</h2>
        <table>
          <thead>
            <tr>
              <th scope="col">Label</th>
              <th scope="col">State</th>
              <th scope="col">Owner</th>
              <th scope="col">Revision</th>
              <th scope="col">Updated</th>
            </tr>
          </thead>
          <tbody>
            <For each={detail.latest?.models ?? []}>
              {(m) => (
                <tr aria-selected={model()?.id === m.id} data-model={m.id}>
                  <td>
                    <button type="button" class="link" onClick={() => setSelected(m.id)}>
                      {m.label}
                    </button>
                  </td>
                  <td data-testid="model-state">{m.state}</td>
                  <td>{m.owner ?? '—'}</td>
                  <td>{m.revision}</td>
                  <td>{m.updatedAt}</td>
                </tr>
              )}
            </For>
          </tbody>
        </table>
        <Show when={model()}>
          {(m) => (
            <>
              <h3>
                Lifecycle of {m().label} — <span data-testid="selected-state">{m().state}</span>
              </h3>
              <FsmDiagram state={m().state} visited={new Set(history().flatMap((t) => [t.from, t.to]))} />
              <ol class="history" aria-label="Transitions, newest first">
                <For each={history()}>
                  {(t) => (
                    <li>
                      {t.at}: {t.from} → {t.to} by {t.actor} — {t.reason}
                    </li>
                  )}
                </For>
              </ol>
            </>
          )}
        </Show>
      </section>

      <section aria-labelledby="drift-h">
        <h2 id="drift-h">Drift</h2>
        <Show when={drift.error}>
          <p role="alert" class="problem">
            {describeError(drift.error)}
          </p>
        </Show>
        <p>
          A breach counts after {drift.latest?.window?.config?.breachDays ?? 3} consecutive days above critical; current run: {drift.latest?.window?.streak ?? 0} day(s)
          {drift.latest?.window?.breachActive ? ' — breach active' : ''}.
        </p>
        <Show when={points().length === 0}>
          <p>No drift report yet: the first comes when a day closes with at least the baseline's minimum of events.</p>
        </Show>
        <DriftChart points={points()} warn={drift.latest?.window?.config?.psiWarn ?? 0.1} critical={drift.latest?.window?.config?.psiCritical ?? 0.25} />
      </section>

      <Show when={summary()?.canary}>{(c) => <CanaryPanel modelId={c().id} tick={tick()} />}</Show>
      <RetrainPanel tenantId={props.id} tick={tick()} />
    </section>
  );
}
