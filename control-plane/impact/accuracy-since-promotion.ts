import { sql } from 'drizzle-orm';
import type { Db } from '../../db/client';
import { rowsOf } from '../../db/rows';
import type { ImpactReport, TenantImpact, TenantMoney } from './impact-report';


interface Row {
  tenant_id: string;
  champion_id: string;
  champion_label: string;
  promoted_at: string | Date | null;
  previous_id: string | null;
  previous_label: string | null;
  n_cur: string | number;
  sum_cur: string | number | null;
  n_prev: string | number;
  sum_prev: string | number | null;
  served: string | number;
  economics: { valuePerErrorUnitUsd: number; unit: string } | null;
  runs: string | number;
  spend: string | number | null;
}

const n = (v: string | number | null) => (v === null ? 0 : Number(v));

function moneyOf(r: Row, currentMae: number | null, previousMae: number | null): TenantMoney {
  const value = r.economics?.valuePerErrorUnitUsd ?? null;
  const served = n(r.served);
  const spendUsd = n(r.spend);
  const benefitUsd = value !== null && currentMae !== null && previousMae !== null ? (previousMae - currentMae) * served * value : null;
  const netUsd = benefitUsd === null ? null : benefitUsd - spendUsd;
  return {
    valuePerErrorUnitUsd: value,
    unit: r.economics?.unit ?? null,
    served,
    retrainRuns: n(r.runs),
    spendUsd,
    benefitUsd,
    netUsd,
    roi: netUsd !== null && spendUsd > 0 ? netUsd / spendUsd : null,
  };
}

/**
 * Accuracy since the last promotion, per tenant, from the learning events
 * (labelled, served without error): the current champion's MAE since it was
 * promoted against the MAE of the champion it replaced over the `windowDays`
 * before the promotion. With the tenant's economics, what that is worth
 * against the retraining spent in the same window (ROI). Read-only; one
 * query for every tenant.
 */
export async function accuracySincePromotion(db: Db, opts: { windowDays: number; tenantId?: string }): Promise<ImpactReport> {
  const tenantFilter = opts.tenantId ? sql`and t.id = ${opts.tenantId}` : sql``;
  const served = sql`not e.is_label and e.prediction is not null and e.outcome is null`;
  const labelled = sql`${served} and e.actual is not null`;
  const rows = rowsOf<Row>(
    await db.execute(sql`
      with champ as (
        select t.id as tenant_id, t.economics, m.id as champion_id, m.label as champion_label, m.previous_stable_id as previous_id,
               (select max(tr.at) from transitions tr where tr.model_version_id = m.id and tr.to_state = 'CHAMPION') as promoted_at
        from tenants t join model_versions m on m.id = t.champion_id
        where true ${tenantFilter}
      )
      select c.tenant_id, c.champion_id, c.champion_label, c.promoted_at, c.previous_id, p.label as previous_label,
             c.economics, cur.n as n_cur, cur.s as sum_cur, cur.served, prev.n as n_prev, prev.s as sum_prev, spend.runs, spend.usd as spend
      from champ c
      left join model_versions p on p.id = c.previous_id
      left join lateral (
        select count(e.actual) as n, sum(abs(e.prediction - e.actual)) as s, count(*) as served from learning_events e
        where e.tenant_id = c.tenant_id and e.model_version_id = c.champion_id and ${served}
          and c.promoted_at is not null and e.occurred_at >= c.promoted_at
      ) cur on true
      left join lateral (
        select count(*) as n, sum(abs(e.prediction - e.actual)) as s from learning_events e
        where e.tenant_id = c.tenant_id and e.model_version_id = c.previous_id and ${labelled}
          and c.promoted_at is not null and e.occurred_at < c.promoted_at
          and e.occurred_at >= c.promoted_at - make_interval(days => ${opts.windowDays}::int)
      ) prev on true
      left join lateral (
        select count(*) as runs, sum(r.cost_usd) as usd from retrain_runs r
        where r.tenant_id = c.tenant_id and c.promoted_at is not null and r.started_at <= c.promoted_at
          and r.started_at >= c.promoted_at - make_interval(days => ${opts.windowDays}::int)
      ) spend on true
      order by c.tenant_id`),
  );
  const tenants: TenantImpact[] = [];
  let nPrev = 0, sPrev = 0, nCur = 0, sCur = 0, improved = 0, worse = 0, measured = 0; // prettier-ignore
  const money = { valued: 0, spendUsd: 0, benefitUsd: 0, netUsd: 0 };
  for (const r of rows) {
    const cur = { n: n(r.n_cur), mae: n(r.n_cur) > 0 ? n(r.sum_cur) / n(r.n_cur) : null };
    const prev = { n: n(r.n_prev), mae: n(r.n_prev) > 0 ? n(r.sum_prev) / n(r.n_prev) : null };
    const change = cur.mae !== null && prev.mae !== null && prev.mae > 0 ? cur.mae / prev.mae - 1 : null;
    if (change !== null) {
      measured++;
      if (change < 0) improved++;
      if (change > 0) worse++;
      nPrev += prev.n;
      sPrev += n(r.sum_prev);
      nCur += cur.n;
      sCur += n(r.sum_cur);
    }
    tenants.push({
      tenantId: r.tenant_id,
      championId: r.champion_id,
      championLabel: r.champion_label,
      promotedAt: r.promoted_at === null ? null : new Date(r.promoted_at).toISOString(),
      previousId: r.previous_id,
      previousLabel: r.previous_label,
      current: cur,
      previous: prev,
      relativeMaeChange: change,
      money: moneyOf(r, cur.mae, prev.mae),
    });
    const m = tenants[tenants.length - 1]!.money;
    if (m.benefitUsd !== null) {
      money.valued++;
      money.spendUsd += m.spendUsd;
      money.benefitUsd += m.benefitUsd;
      money.netUsd += m.netUsd!;
    }
  }
  const previousMae = nPrev > 0 ? sPrev / nPrev : null;
  const currentMae = nCur > 0 ? sCur / nCur : null;
  return {
    windowDays: opts.windowDays,
    tenants,
    summary: {
      withChampion: rows.length,
      measured,
      improved,
      worse,
      pooled: { previousMae, currentMae, nPrevious: nPrev, nCurrent: nCur, relativeMaeChange: previousMae !== null && currentMae !== null && previousMae > 0 ? currentMae / previousMae - 1 : null },
      money: { ...money, roi: money.spendUsd > 0 ? money.netUsd / money.spendUsd : null },
    },
  };
}
