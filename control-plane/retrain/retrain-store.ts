import { raiseAlert } from '../alerts/raise-alert';
import { randomUUID } from 'node:crypto';
import { and, eq, isNull } from 'drizzle-orm';
import { NotFoundError } from '../../actors/errors';
import type { SafeguardFacts } from '../../actors/retrain/safeguards';
import type { Db } from '../../db/client';
import { alerts, modelVersions, retrainBlacklist, retrainRuns, tenants } from '../../db/schema';
import type { AlertSeverity, TenantId } from '../../db/schema/enums';
import type { AuditLog } from '../audit/audit-store';
import type { Clock } from '../ports/clock';
import type { DurableStreams } from '../ports/stream';
import { RETRAIN_ACTOR } from './guarded-writes';

const DAY_MS = 86_400_000;

/**
 * The database side of the retrain safeguards: the facts a request is
 * checked against, the cooldown blacklist, finished runs and alerts.
 */
export class RetrainStore {
  constructor(
    private readonly db: Db,
    private readonly audit: AuditLog,
    private readonly clock: Clock,
    private readonly options: { cooldownDays?: number; streams?: DurableStreams; prefix?: string } = {},
  ) {}

  /**
   * Blacklists `(tenantId, featureSignature)` for the cooldown (7 days by
   * default) after a rollback; called by the rollback path. Audited.
   */
  async blacklistAfterRollback(tenantId: string, featureSignature: string, reason = 'rolled back'): Promise<{ until: string }> {
    const now = this.clock.now();
    const until = new Date(now.getTime() + (this.options.cooldownDays ?? 7) * DAY_MS);
    await this.db.transaction(async (txRaw) => {
      const tx = txRaw as unknown as Db;
      await tx
        .insert(retrainBlacklist)
        .values({ tenantId: tenantId as TenantId, featureSignature, until, reason, createdAt: now })
        .onConflictDoUpdate({ target: [retrainBlacklist.tenantId, retrainBlacklist.featureSignature], set: { until, reason, createdAt: now } });
      await this.audit.append(tx, {
        actor: RETRAIN_ACTOR,
        action: 'retrain.blacklisted',
        subject: `tenant:${tenantId}`,
        payload: { tenantId, featureSignature, until: until.toISOString(), reason },
      });
    });
    return { until: until.toISOString() };
  }

  /**
   * The feature signature a retrain would produce (the champion's, else the
   * newest version's) and everything the safeguards need from the database.
   */
  async facts(tenantId: string): Promise<SafeguardFacts & { parentId: string | null }> {
    const [tenant] = await this.db.select().from(tenants).where(eq(tenants.id, tenantId as TenantId)).limit(1);
    if (!tenant) throw new NotFoundError(`no tenant ${tenantId}`);
    const versions = await this.db
      .select({ id: modelVersions.id, featureSignature: modelVersions.featureSignature, state: modelVersions.state, createdAt: modelVersions.createdAt })
      .from(modelVersions)
      .where(eq(modelVersions.tenantId, tenant.id));
    const base = versions.find((v) => v.id === tenant.championId) ?? versions.sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime())[0];
    const featureSignature = base?.featureSignature ?? 'default';
    const [listed] = await this.db
      .select()
      .from(retrainBlacklist)
      .where(and(eq(retrainBlacklist.tenantId, tenant.id), eq(retrainBlacklist.featureSignature, featureSignature)))
      .limit(1);
    return {
      stage: tenant.stage,
      forensicLock: tenant.forensicLock,
      forensicLockReason: tenant.forensicLockReason,
      featureSignature,
      blacklistedUntil: listed ? listed.until.toISOString() : null,
      parentId: base?.id ?? null,
    };
  }

  /** A refusal (or an admin reset) on the audit log. */
  async auditDecision(tenantId: string, actor: string, action: string, payload: Record<string, unknown>): Promise<void> {
    await this.audit.append(this.db, { actor, action, subject: `tenant:${tenantId}`, payload: { tenantId, ...payload } });
  }

  async recordRun(run: { sagaId: string; tenantId: string; outcome: string; seconds: number; gpuHours: number; costUsd: number; startedAt: Date }): Promise<void> {
    await this.db
      .insert(retrainRuns)
      .values({ ...run, tenantId: run.tenantId as TenantId, finishedAt: this.clock.now() })
      .onConflictDoNothing();
  }

  /** As raiseAlert, unless the same kind is already open (unacknowledged) for the tenant: repeated refusals raise one alert. */
  async raiseAlertOnce(tenantId: string, severity: AlertSeverity, kind: string, message: string, details: Record<string, unknown>): Promise<string | null> {
    const [open] = await this.db
      .select({ id: alerts.id })
      .from(alerts)
      .where(and(eq(alerts.tenantId, tenantId as TenantId), eq(alerts.kind, kind), isNull(alerts.ackedAt)))
      .limit(1);
    return open ? null : this.raiseAlert(tenantId, severity, kind, message, details);
  }

  /** An alert (the shared `raiseAlert`: table row, de-duplicated, and the alerts stream when there is one). */
  async raiseAlert(tenantId: string, severity: AlertSeverity, kind: string, message: string, details: Record<string, unknown>): Promise<string> {
    const input = { tenantId, severity, kind, message, details, dedupeKey: `${kind}:${tenantId}:${typeof details.sagaId === 'string' ? details.sagaId : randomUUID()}` };
    if (this.options.streams) return (await raiseAlert(this.db, this.options.streams, this.options.prefix ?? 'tg', input, this.clock.now())).id;
    const id = randomUUID();
    await this.db.insert(alerts).values({ id, tenantId: tenantId as TenantId, severity, kind, dedupeKey: input.dedupeKey, message, details, createdAt: this.clock.now() }).onConflictDoNothing();
    return id;
  }
}
