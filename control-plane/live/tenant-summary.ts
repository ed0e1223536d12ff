import { sql, type SQL } from 'drizzle-orm';
import type { Db } from '../../db/client';
import { rowsOf } from '../../db/rows';
import type { TenantSummary } from './protocol';

const DRIFT_DAYS = 7;

interface TenantRow { id: string; name: string; stage: string; champion_id: string | null; forensic_lock: boolean; forensic_lock_reason: string | null; revision: number }
interface ModelRow { id: string; tenant_id: string; label: string; state: string; canary_traffic_percent: number | null; canary_verdict: string | null }
interface DriftRow { tenant_id: string; day: string; score: number | null; drift_score: number | null; breach: boolean; mae_delta: number | null }
interface CountRow { tenant_id: string; n: number | string }
interface CooldownRow { tenant_id: string; until: Date | string }

/**
 * The tenants list rows, read from the store of record in five set queries
 * (so 10,000 tenants cost five round trips, not 50,000). `only` limits it to
 * some tenants (one, after an event).
 */
export async function tenantSummaries(db: Db, now: Date, only?: readonly string[]): Promise<TenantSummary[]> {
  if (only && only.length === 0) return [];
  const ids = only ? sql`array[${sql.join(only.map((id) => sql`${id}`), sql`, `)}]::text[]` : null;
  const where = (col: SQL): SQL => (ids ? sql`${col} = any(${ids})` : sql`true`);
  const [tenants, models, drift, alerts, cooldowns] = await Promise.all([
    db.execute(sql`select id, name, stage, champion_id, forensic_lock, forensic_lock_reason, revision from tenants where ${where(sql`id`)} order by id`),
    db.execute(sql`select id, tenant_id, label, state, canary_traffic_percent, canary_verdict from model_versions
      where state in ('CHAMPION', 'CANARY', 'SHADOW') and ${where(sql`tenant_id`)}`),
    db.execute(sql`select tenant_id, day::text as day, score, drift_score, breach,
        (select avg((m.value->>'relativeMaeDelta')::float8) from jsonb_each(r.metrics->'models') m
          where jsonb_typeof(m.value->'relativeMaeDelta') = 'number') as mae_delta
      from (
        select tenant_id, day, score, drift_score, breach, metrics, row_number() over (partition by tenant_id order by day desc) as rn
        from drift_reports where ${where(sql`tenant_id`)}) r
      where rn <= ${DRIFT_DAYS} order by tenant_id, day`),
    db.execute(sql`select tenant_id, count(*)::int as n from alerts where acked_at is null and tenant_id is not null and ${where(sql`tenant_id`)} group by tenant_id`),
    db.execute(sql`select tenant_id, max(until) as until from retrain_blacklist where until > ${now.toISOString()}::timestamptz and ${where(sql`tenant_id`)} group by tenant_id`),
  ]);
  const byTenant = new Map<string, TenantSummary>();
  for (const t of rowsOf<TenantRow>(tenants)) {
    byTenant.set(t.id, {
      id: t.id,
      name: t.name,
      stage: t.stage,
      championId: t.champion_id,
      championLabel: null,
      canary: null,
      shadowIds: [],
      locks: { forensic: t.forensic_lock, forensicReason: t.forensic_lock_reason, cooldownUntil: null },
      driftScores: [],
      driftScore: null,
      breach: false,
      maeDelta: null,
      openAlerts: 0,
      revision: Number(t.revision),
    });
  }
  for (const m of rowsOf<ModelRow>(models)) {
    const s = byTenant.get(m.tenant_id);
    if (!s) continue;
    if (m.state === 'CHAMPION' && m.id === s.championId) s.championLabel = m.label;
    else if (m.state === 'CANARY') s.canary = { id: m.id, label: m.label, trafficPercent: Number(m.canary_traffic_percent ?? 0), verdict: m.canary_verdict };
    else if (m.state === 'SHADOW') s.shadowIds.push(m.id);
  }
  for (const d of rowsOf<DriftRow>(drift)) {
    const s = byTenant.get(d.tenant_id);
    if (!s) continue;
    s.driftScores.push({ day: d.day, score: d.score === null ? null : Number(d.score) });
    s.driftScore = d.drift_score === null ? null : Number(d.drift_score);
    s.breach = d.breach;
    s.maeDelta = d.mae_delta === null ? null : Number(d.mae_delta);
  }
  for (const a of rowsOf<CountRow>(alerts)) {
    const s = byTenant.get(a.tenant_id);
    if (s) s.openAlerts = Number(a.n);
  }
  for (const c of rowsOf<CooldownRow>(cooldowns)) {
    const s = byTenant.get(c.tenant_id);
    if (s) s.locks.cooldownUntil = new Date(c.until).toISOString();
  }
  return [...byTenant.values()];
}

/** Open (unacknowledged) alerts per tenant; `_system` for alerts of no tenant. */
export async function openAlertCounts(db: Db): Promise<Map<string, number>> {
  const rows = rowsOf<CountRow>(await db.execute(sql`select coalesce(tenant_id, '_system') as tenant_id, count(*)::int as n from alerts where acked_at is null group by 1`));
  return new Map(rows.map((r) => [r.tenant_id, Number(r.n)]));
}
