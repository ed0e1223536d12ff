import { createMemo, createSignal, For, Show } from 'solid-js';
import { live } from '../live-store';
import { href } from '../router';
import { Sparkline } from './Sparkline';

const ROW = 40;
const OVERSCAN = 8;

/** Every tenant, live; a virtualized list (only the rows in view are in the DOM). */
export function Tenants() {
  const [query, setQuery] = createSignal('');
  const [stage, setStage] = createSignal('');
  const [onlyAlerts, setOnlyAlerts] = createSignal(false);
  const [scrollTop, setScrollTop] = createSignal(0);
  const [height, setHeight] = createSignal(600);

  const visible = createMemo(() => {
    const q = query().trim().toLowerCase();
    const st = stage();
    const alerts = onlyAlerts();
    return live.tenantIds().filter((id) => {
      const t = live.tenants[id];
      if (!t) return false;
      if (st && t.stage !== st) return false;
      if (alerts && t.openAlerts === 0) return false;
      return !q || id.includes(q) || t.name.toLowerCase().includes(q);
    });
  });
  const rendered = createMemo(() => {
    const first = Math.max(0, Math.floor(scrollTop() / ROW) - OVERSCAN);
    const last = Math.min(visible().length, Math.ceil((scrollTop() + height()) / ROW) + OVERSCAN);
    return { first, ids: visible().slice(first, last) };
  });

  return (
    <section aria-labelledby="tenants-h">
      <h1 id="tenants-h">Tenants</h1>
      <div class="filters" role="search">
        <label>
          Search <input type="search" value={query()} onInput={(e) => setQuery(e.currentTarget.value)} placeholder="id or name" />
        </label>
        <label>
          Stage{' '}
          <select value={stage()} onChange={(e) => setStage(e.currentTarget.value)}>
            <option value="">all</option>
            <option>SHADOW_MODE</option>
            <option>PILOT</option>
            <option>CONTROLLED_AUTONOMY</option>
          </select>
        </label>
        <label>
          <input type="checkbox" checked={onlyAlerts()} onChange={(e) => setOnlyAlerts(e.currentTarget.checked)} /> with open alerts
        </label>
        <span aria-live="polite" data-testid="tenant-count">
          {visible().length} of {live.tenantIds().length} tenants
        </span>
      </div>
      <div role="table" aria-label="Tenants" aria-rowcount={visible().length} class="tenants">
        <div role="row" class="row head">
          <span role="columnheader">Tenant</span>
          <span role="columnheader">Stage</span>
          <span role="columnheader">Champion</span>
          <span role="columnheader">Canary</span>
          <span role="columnheader">Drift</span>
          <span role="columnheader">Locks</span>
          <span role="columnheader">Alerts</span>
        </div>
        <div
          class="viewport"
          tabIndex={0}
          aria-label="Tenant rows (scroll with arrows, Page Up/Down, Home/End)"
          ref={(el) => queueMicrotask(() => setHeight(el.clientHeight || 600))}
          onScroll={(e) => setScrollTop(e.currentTarget.scrollTop)}
          data-testid="tenant-viewport"
        >
          <div style={{ height: `${visible().length * ROW}px`, position: 'relative' }}>
            <For each={rendered().ids}>
              {(id, i) => {
                const t = () => live.tenants[id]!;
                return (
                  <Show when={live.tenants[id]}>
                    <div role="row" class="row" aria-rowindex={rendered().first + i() + 1} style={{ top: `${(rendered().first + i()) * ROW}px` }} data-tenant={id}>
                      <span role="cell">
                        <a href={href('tenant', id)}>{id}</a> <small>{t().name}</small>
                      </span>
                      <span role="cell" data-testid="stage">{t().stage}</span>
                      <span role="cell" data-testid="champion">{t().championLabel ?? (t().championId ? t().championId!.slice(0, 8) : '—')}</span>
                      <span role="cell" data-testid="canary">{t().canary ? `${t().canary!.label} @ ${t().canary!.trafficPercent}%` : '—'}</span>
                      <span role="cell">
                        <Sparkline values={t().driftScores.map((d) => d.score)} label={`drift of ${id}: ${t().driftScore?.toFixed(3) ?? 'no data'}`} />{' '}
                        {t().driftScore?.toFixed(2) ?? '—'}
                      </span>
                      <span role="cell" data-testid="locks">
                        {[t().locks.forensic ? 'forensic' : '', t().locks.cooldownUntil ? 'cooldown' : '', t().breach ? 'breach' : ''].filter(Boolean).join(', ') || '—'}
                      </span>
                      <span role="cell" data-testid="alerts">{t().openAlerts}</span>
                    </div>
                  </Show>
                );
              }}
            </For>
          </div>
        </div>
      </div>
    </section>
  );
}
