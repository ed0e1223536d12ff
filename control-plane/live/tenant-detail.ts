import { sql } from 'drizzle-orm';
import type { Db } from '../../db/client';
import { rowsOf } from '../../db/rows';
import type { TenantDetail } from './protocol';
import { tenantSummaries } from './tenant-summary';


const iso = (d: Date | string) => new Date(d).toISOString();

/** One tenant's versions, lifecycle history and approvals, for the detail view. Null for an unknown tenant. */
export async function tenantDetail(db: Db, now: Date, tenantId: string): Promise<TenantDetail | null> {
  const [summary] = await tenantSummaries(db, now, [tenantId]);
  if (!summary) return null;
  const [models, transitions, approvals] = await Promise.all([
    db.execute(sql`select id, label, state, owner, revision, canary_traffic_percent, canary_verdict, updated_at from model_versions where tenant_id = ${tenantId} order by created_at desc limit 200`),
    db.execute(sql`select t.model_version_id, t.from_state, t.to_state, t.reason, t.actor, t.at from transitions t
      join model_versions m on m.id = t.model_version_id where m.tenant_id = ${tenantId} order by t.id desc limit 100`),
    db.execute(sql`select a.model_version_id, a.approver, a.decision, a.justification, a.at from approvals a
      join model_versions m on m.id = a.model_version_id where m.tenant_id = ${tenantId} order by a.at desc limit 100`),
  ]);
  return {
    summary,
    models: rowsOf<Record<string, unknown>>(models).map((m) => ({
      id: String(m.id),
      label: String(m.label),
      state: String(m.state),
      owner: (m.owner as string | null) ?? null,
      revision: Number(m.revision),
      canaryTrafficPercent: m.canary_traffic_percent === null ? null : Number(m.canary_traffic_percent),
      canaryVerdict: (m.canary_verdict as string | null) ?? null,
      updatedAt: iso(m.updated_at as string),
    })),
    transitions: rowsOf<Record<string, unknown>>(transitions).map((t) => ({
      modelVersionId: String(t.model_version_id),
      from: String(t.from_state),
      to: String(t.to_state),
      reason: String(t.reason),
      actor: String(t.actor),
      at: iso(t.at as string),
    })),
    approvals: rowsOf<Record<string, unknown>>(approvals).map((a) => ({
      modelVersionId: String(a.model_version_id),
      approver: String(a.approver),
      decision: String(a.decision),
      justification: String(a.justification),
      at: iso(a.at as string),
    })),
  };
}
