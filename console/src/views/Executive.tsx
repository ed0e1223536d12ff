import { createMemo, createResource, createSignal, For, Show } from 'solid-js';
import { api, describeError, roleAtLeast } from '../api';
import { live } from '../live-store';
import { href } from '../router';
import { Outcome } from './Outcome';
import type { ImpactReport } from '../../../control-plane/impact/impact-report';

const pct = (x: number) => `${x > 0 ? '+' : ''}${(x * 100).toFixed(1)} %`;
const mae = (x: number | null) => (x === null ? '—' : x.toPrecision(3));
export const usd = (x: number | null) => (x === null ? '—' : `${x < 0 ? '−' : ''}$${Math.abs(x).toLocaleString('en', { maximumFractionDigits: 2, minimumFractionDigits: Math.abs(x) < 100 ? 2 : 0 })}`);
export const roiText = (x: number | null) => (x === null ? '—' : `${x < 0 ? '−' : ''}${Math.abs(x * 100).toLocaleString('en', { maximumFractionDigits: 0 })} %`);

/** ROI in words: what the retraining behind the current champions returned. */
export function roiHeadline(m: ImpactReport['summary']['money']): string {
  if (m.valued === 0) return 'ROI not measured yet: set what a unit of error is worth for a tenant (below) once its champion has been measured against the one it replaced.';
  if (m.roi === null) return `Champions' accuracy change is worth ${usd(m.benefitUsd)} across ${m.valued} valued tenant(s); no retraining was paid for before those promotions, so there is no ROI to state.`;
  return `Retraining that led to the current champions cost ${usd(m.spendUsd)} and returned ${usd(m.benefitUsd)} in accuracy (${m.valued} valued tenant(s)): net ${usd(m.netUsd)}, ROI ${roiText(m.roi)}.`;
}

/** The headline in words: how much more (or less) accurate the champions are since their last promotion. */
export function headline(s: ImpactReport['summary']): string {
  const change = s.pooled.relativeMaeChange;
  if (s.measured === 0 || change === null) return 'No accuracy change measured yet: no tenant has labelled predictions from both its current champion (since its promotion) and the one it replaced.';
  const way = change < 0 ? `${(-change * 100).toFixed(1)} % more accurate` : change > 0 ? `${(change * 100).toFixed(1)} % less accurate` : 'exactly as accurate';
  return `Since their last promotion, champions are ${way} than the models they replaced (MAE ${mae(s.pooled.previousMae)} → ${mae(s.pooled.currentMae)}, ${s.pooled.nCurrent.toLocaleString('en')} labelled predictions) across ${s.measured} tenant(s): ${s.improved} better, ${s.worse} worse.`;
}

/** Impact at a glance: accuracy since the last promotion (the headline), where tenants stand, risk. */
export function Executive() {
  const [alerts] = createResource(() => api<{ items: Array<{ severity: string }> }>('GET', '/api/v1/alerts?open=true&limit=500').catch(() => ({ items: [] })));
  const [impact, { refetch }] = createResource(() => api<ImpactReport>('GET', '/api/v1/impact/accuracy'));
  const canSet = () => roleAtLeast(live.who()?.role, 'MANAGER');
  const stats = createMemo(() => {
    const all = live.tenantIds().map((id) => live.tenants[id]!).filter(Boolean);
    const byStage: Record<string, number> = {};
    for (const t of all) byStage[t.stage] = (byStage[t.stage] ?? 0) + 1;
    const drifts = all.map((t) => t.driftScore).filter((v): v is number => v !== null);
    return {
      total: all.length,
      byStage,
      champions: all.filter((t) => t.championId).length,
      canaries: all.filter((t) => t.canary).length,
      breaching: all.filter((t) => t.breach).length,
      locked: all.filter((t) => t.locks.forensic).length,
      meanDrift: drifts.length ? drifts.reduce((a, b) => a + b, 0) / drifts.length : null,
    };
  });
  const sev = (s: string) => (alerts.latest?.items ?? []).filter((a) => a.severity === s).length;
  const pooledChange = () => {
    const c = impact.latest?.summary.pooled.relativeMaeChange ?? null;
    return c === null ? 'not measured yet' : pct(c);
  };
  const measured = () => (impact.latest?.tenants ?? []).filter((t) => t.relativeMaeChange !== null).sort((a, b) => a.relativeMaeChange! - b.relativeMaeChange!);
  return (
    <section aria-labelledby="exec-h">
      <h1 id="exec-h">Executive</h1>
      <Show when={impact.error}>
        <p role="alert" class="problem">
          {describeError(impact.error)}
        </p>
      </Show>
      <Show when={impact.latest}>
        {(i) => (
          <p class="headline" data-testid="impact-headline">
            {headline(i().summary)}
          </p>
        )}
      </Show>
      <Show when={impact.latest}>
        {(i) => (
          <p class="headline" data-testid="roi-headline">
            {roiHeadline(i().summary.money)}
          </p>
        )}
      </Show>
      <div class="tiles">
        <Tile label="Accuracy since last promotion (pooled MAE change)" value={pooledChange()} testid="impact-change" />
        <Tile label="Return on retraining (ROI)" value={roiText(impact.latest?.summary.money.roi ?? null)} testid="roi" />
        <Tile label="Net value since promotion (benefit − retraining)" value={impact.latest?.summary.money.valued ? usd(impact.latest.summary.money.netUsd) : '—'} testid="roi-net" />
        <Tile label="Tenants more accurate / less accurate" value={impact.latest ? `${impact.latest.summary.improved} / ${impact.latest.summary.worse}` : '—'} testid="impact-improved" />
        <Tile label="Tenants" value={stats().total} />
        <Tile label="Served by a champion" value={`${stats().champions} of ${stats().total}`} />
        <Tile label="Canaries in flight" value={stats().canaries} />
        <Tile label="Drift breaches" value={stats().breaching} />
        <Tile label="Forensic locks" value={stats().locked} />
        <Tile label="Mean 7-day drift" value={stats().meanDrift?.toFixed(3) ?? '—'} />
        <Tile label="Open P1 / P2 / P3" value={`${sev('P1')} / ${sev('P2')} / ${sev('P3')}`} />
      </div>
      <h2>Accuracy since the last promotion, per tenant</h2>
      <p class="muted">
        Mean absolute error of each tenant's champion on its labelled predictions since it was promoted, against the champion it replaced over the {impact.latest?.windowDays ?? 30} days before. Negative = more accurate. Tenants without labelled
        predictions on both sides are left out.
      </p>
      <table aria-label="Accuracy since the last promotion">
        <thead>
          <tr>
            <th scope="col">Tenant</th>
            <th scope="col">Promoted</th>
            <th scope="col">Before (MAE, n)</th>
            <th scope="col">Now (MAE, n)</th>
            <th scope="col">Change</th>
            <th scope="col">Retraining spend</th>
            <th scope="col">Value of the change</th>
            <th scope="col">ROI</th>
          </tr>
        </thead>
        <tbody>
          <For each={measured()} fallback={<tr><td colSpan={8}>{impact.loading ? 'Loading…' : 'Nothing measured yet.'}</td></tr>}>
            {(t) => (
              <tr data-impact={t.tenantId}>
                <th scope="row">
                  <a href={href('tenant', t.tenantId)}>{t.tenantId}</a>
                </th>
                <td>
                  {t.previousLabel ?? '—'} → {t.championLabel} {t.promotedAt ?? ''}
                </td>
                <td>
                  {mae(t.previous.mae)} ({t.previous.n})
                </td>
                <td>
                  {mae(t.current.mae)} ({t.current.n})
                </td>
                <td data-testid="impact-tenant-change" class={t.relativeMaeChange! < 0 ? 'go' : 'nogo'}>
                  {pct(t.relativeMaeChange!)}
                </td>
                <td>
                  {usd(t.money.spendUsd)} ({t.money.retrainRuns} run{t.money.retrainRuns === 1 ? '' : 's'})
                </td>
                <td data-testid="roi-tenant-benefit" title={t.money.valuePerErrorUnitUsd === null ? 'no economics set' : `${usd(t.money.valuePerErrorUnitUsd)} per ${t.money.unit ?? 'unit'} of error × ${t.money.served} predictions`}>
                  {t.money.benefitUsd === null ? 'no economics set' : usd(t.money.benefitUsd)}
                </td>
                <td data-testid="roi-tenant" class={t.money.roi === null ? '' : t.money.roi >= 0 ? 'go' : 'nogo'}>
                  {roiText(t.money.roi)}
                </td>
              </tr>
            )}
          </For>
        </tbody>
      </table>
      <Show when={canSet()}>
        <EconomicsForm tenants={live.tenantIds()} after={() => void refetch()} />
      </Show>
      <h2>Autonomy stages</h2>
      <ul>
        <For each={Object.entries(stats().byStage)}>{([stage, n]) => <li>{stage}: {n}</li>}</For>
      </ul>
    </section>
  );
}

/** MANAGER+: what a unit of error is worth for a tenant (PUT …/economics); the ROI figures use it. */
function EconomicsForm(props: { tenants: string[]; after: () => void }) {
  const [tenant, setTenant] = createSignal('');
  const [value, setValue] = createSignal('');
  const [unit, setUnit] = createSignal('');
  const [justification, setJustification] = createSignal('');
  const [error, setError] = createSignal<string | null>(null);
  const [ok, setOk] = createSignal<string | null>(null);
  const submit = async (e: Event) => {
    e.preventDefault();
    setError(null);
    setOk(null);
    const id = tenant() || props.tenants[0] || '';
    const amount = Number(value());
    if (value().trim() === '' || !Number.isFinite(amount)) return void setError('Value per unit of error: enter a number of dollars, e.g. 12.5.');
    try {
      await api('PUT', `/api/v1/tenants/${encodeURIComponent(id)}/economics`, { valuePerErrorUnitUsd: amount, unit: unit(), justification: justification() });
      setOk(`Economics of ${id} set: ${usd(amount)} per ${unit().trim()} of error per prediction.`);
      props.after();
    } catch (err) {
      setError(describeError(err));
    }
  };
  return (
    <form class="economics" aria-labelledby="econ-h" onSubmit={submit}>
      <h2 id="econ-h">What accuracy is worth</h2>
      <p class="muted">Dollars lost per prediction for each unit of absolute error. The value of a change = (MAE before − MAE now) × predictions served since the promotion × this value; ROI = (value − retraining spend) ÷ retraining spend.</p>
      <label for="econ-tenant">Tenant</label>
      <select id="econ-tenant" value={tenant() || props.tenants[0] || ''} onChange={(e) => setTenant(e.currentTarget.value)}>
        <For each={props.tenants}>{(id) => <option value={id}>{id}</option>}</For>
      </select>
      <label for="econ-value">Value per unit of error (USD)</label>
      <input id="econ-value" inputmode="decimal" aria-required="true" value={value()} onInput={(e) => setValue(e.currentTarget.value)} />
      <label for="econ-unit">Unit of error</label>
      <input id="econ-unit" aria-required="true" placeholder="t/ha of yield" value={unit()} onInput={(e) => setUnit(e.currentTarget.value)} />
      <label for="econ-why">Justification</label>
      <textarea id="econ-why" aria-required="true" value={justification()} onInput={(e) => setJustification(e.currentTarget.value)} />
      <button type="submit">Set economics</button>
      <Outcome error={error()} ok={ok()} />
    </form>
  );
}

export function Tile(props: { label: string; value: string | number; testid?: string }) {
  return (
    <figure class="tile">
      <figcaption>{props.label}</figcaption>
      <strong data-testid={props.testid}>{props.value}</strong>
    </figure>
  );
}
