import { sql } from 'drizzle-orm';
import type { Db } from '../../db/client';
import { rowsOf } from '../../db/rows';
import type { TenantStage } from '../../db/schema/enums';
import type { AuditLog } from '../audit/audit-store';
import { verifyStoredChain } from '../audit/audit-store';

const DAY = 86_400_000;

export interface Criterion {
  id: 'coverage' | 'drift-false-positives' | 'no-crashes' | 'pilot-decisions' | 'decisions-signed';
  description: string;
  /** The measured value (a share, a count); null when there is nothing to measure yet. */
  value: number | null;
  threshold: string;
  met: boolean;
  detail: string;
}

/** The stage after each stage, if any. */
export const NEXT_STAGE: Record<TenantStage, TenantStage | null> = { SHADOW_MODE: 'PILOT', PILOT: 'CONTROLLED_AUTONOMY', CONTROLLED_AUTONOMY: null };

/**
 * The seeds' exit criteria of a tenant's autonomy stage, computed from the
 * store: data coverage across active tenants (> 90 % with learning events in
 * the last 7 days), the false-positive rate of the tenant's drift alerts as
 * operators labelled them (< 5 %), no crashed (dead-lettered) message of the
 * tenant's actors for 2 weeks, in PILOT ≥ 5 approvals and ≥ 1 correct
 * rejection (a rejected version that never served), and every decision in
 * the audit log signed (the chain verifies).
 */
export async function autonomyCriteria(db: Db, audit: AuditLog, tenantId: string, stage: TenantStage, now: Date) {
  const weekAgo = new Date(now.getTime() - 7 * DAY);
  const twoWeeksAgo = new Date(now.getTime() - 14 * DAY);
  const one = async <T>(q: ReturnType<typeof sql>): Promise<T> => rowsOf<T>(await db.execute(q))[0]!;

  const cov = await one<{ active: number; covered: number }>(sql`
    select count(*)::int as active,
           count(*) filter (where exists (select 1 from learning_events e where e.tenant_id = t.id and e.occurred_at >= ${weekAgo.toISOString()}::timestamptz))::int as covered
      from tenants t where exists (select 1 from model_versions m where m.tenant_id = t.id)`);
  const fp = await one<{ alerts: number; labelled: number; false_positives: number }>(sql`
    select count(*)::int as alerts, count(label)::int as labelled, count(*) filter (where label = 'false_positive')::int as false_positives
      from alerts where tenant_id = ${tenantId} and kind = 'drift.critical'`);
  const crashes = await one<{ n: number }>(sql`
    select count(*)::int as n from dead_letters d
     where d.at >= ${twoWeeksAgo.toISOString()}::timestamptz
       and ((d.kind in ('tenant', 'retrain') and d.actor_id = ${tenantId})
         or (d.kind = 'model' and d.actor_id in (select id::text from model_versions where tenant_id = ${tenantId})))`);
  const decisions = await one<{ approvals: number; correct_rejections: number }>(sql`
    select count(*) filter (where a.decision = 'approve')::int as approvals,
           count(distinct a.model_version_id) filter (where a.decision = 'reject' and m.state not in ('CHAMPION', 'DEPRECATED', 'ROLLED_BACK'))::int as correct_rejections
      from approvals a join model_versions m on m.id = a.model_version_id where m.tenant_id = ${tenantId}`);
  await audit.flush();
  const chain = await verifyStoredChain(db);

  const coverage = cov.active === 0 ? null : cov.covered / cov.active;
  const fpRate = fp.alerts === 0 ? 0 : fp.labelled === 0 ? null : fp.false_positives / fp.labelled;
  const criteria: Criterion[] = [
    {
      id: 'coverage',
      description: 'active tenants with learning events in the last 7 days',
      value: coverage,
      threshold: '> 90 %',
      met: coverage !== null && coverage > 0.9,
      detail: `${cov.covered} of ${cov.active} active tenants`,
    },
    {
      id: 'drift-false-positives',
      description: "false positives among this tenant's drift alerts, as operators labelled them",
      value: fpRate,
      threshold: '< 5 %',
      met: fpRate !== null && fpRate < 0.05,
      detail: fp.alerts === 0 ? 'no drift alert yet' : `${fp.false_positives} false of ${fp.labelled} labelled (${fp.alerts} alerts)`,
    },
    {
      id: 'no-crashes',
      description: "dead-lettered (crashed) messages of this tenant's actors in the last 14 days",
      value: crashes.n,
      threshold: '= 0',
      met: crashes.n === 0,
      detail: `${crashes.n} in 14 days`,
    },
    ...(stage === 'PILOT'
      ? [
          {
            id: 'pilot-decisions' as const,
            description: 'named approvals, and rejections of versions that never served',
            value: decisions.approvals,
            threshold: '≥ 5 approvals and ≥ 1 correct rejection',
            met: decisions.approvals >= 5 && decisions.correct_rejections >= 1,
            detail: `${decisions.approvals} approvals, ${decisions.correct_rejections} correct rejections`,
          },
        ]
      : []),
    {
      id: 'decisions-signed',
      description: 'audit entries signed and chained (the chain verifies)',
      value: chain.ok ? 1 : (chain.firstBadIndex ?? 0) / Math.max(1, chain.length),
      threshold: '100 %',
      met: chain.ok,
      detail: chain.ok ? `${chain.length} entries verify` : `entry ${chain.firstBadIndex} fails: ${chain.reason}`,
    },
  ];
  const next = NEXT_STAGE[stage];
  return { tenantId, stage, next, criteria, ready: next !== null && criteria.every((c) => c.met) };
}
