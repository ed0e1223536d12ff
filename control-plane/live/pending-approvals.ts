import { sql } from 'drizzle-orm';
import type { Db } from '../../db/client';
import { rowsOf } from '../../db/rows';
import type { PendingApproval } from './protocol';

export type { PendingApproval } from './protocol';


/**
 * The versions waiting for a MANAGER: canaries of tenants in SHADOW_MODE or
 * PILOT (where CHAMPION needs a named approval) with no approval recorded
 * since they became CANARY. Oldest first.
 */
export async function pendingApprovals(db: Db, limit: number): Promise<PendingApproval[]> {
  const rows = rowsOf<Record<string, unknown>>(
    await db.execute(sql`
      select m.id, m.tenant_id, t.stage, m.label, m.owner, m.state, m.revision, m.canary_verdict, m.canary_traffic_percent,
             m.artifact_sha256, t.champion_id, m.updated_at,
             coalesce((select json_agg(json_build_object('approver', a.approver, 'justification', a.justification, 'at', a.at) order by a.at)
                       from approvals a where a.model_version_id = m.id and a.decision = 'reject'), '[]'::json) as rejections
      from model_versions m join tenants t on t.id = m.tenant_id
      where m.state = 'CANARY' and t.stage in ('SHADOW_MODE', 'PILOT')
        and not exists (select 1 from approvals a where a.model_version_id = m.id and a.decision = 'approve')
      order by m.updated_at, m.id
      limit ${limit}`),
  );
  return rows.map((r) => ({
    modelVersionId: String(r.id),
    tenantId: String(r.tenant_id),
    tenantStage: String(r.stage),
    label: String(r.label),
    owner: (r.owner as string | null) ?? null,
    state: String(r.state),
    revision: Number(r.revision),
    canaryVerdict: (r.canary_verdict as string | null) ?? null,
    canaryTrafficPercent: r.canary_traffic_percent === null ? null : Number(r.canary_traffic_percent),
    artifactSha256: (r.artifact_sha256 as string | null) ?? null,
    championId: (r.champion_id as string | null) ?? null,
    rejections: (typeof r.rejections === 'string' ? JSON.parse(r.rejections) : r.rejections) as PendingApproval['rejections'],
    since: new Date(r.updated_at as string).toISOString(),
  }));
}
