import { eq } from 'drizzle-orm';
import type { Db } from '../../db/client';
import { tenants, type TenantEconomics, type TenantRow, type RiskMatrix, type RolloutPolicy } from '../../db/schema';
import type { TenantId, TenantStage } from '../../db/schema/enums';
import { IllegalTransitionError, LockedError, NotFoundError } from '../../actors/errors';
import { actorOf, type Principal } from '../../actors/principal';
import { TENANT_STAGES } from '../../db/schema/enums';
import type { AuditLog } from '../audit/audit-store';
import type { Clock } from '../ports/clock';
import { tenantDto, type TenantDto } from '../registry/dto';
import type { RegistryService } from '../registry/registry-service';
import { runGoverned, type GovernanceGate } from './gate';

/**
 * Tenant controls that governance guards: the autonomy stage and the
 * forensic lock. The tenant actor keeps no state of its own yet, so these
 * write the tenant row directly, in one transaction with the gate, the
 * revision bump and the audit entry.
 */
export class TenantControls {
  constructor(
    private readonly db: Db,
    private readonly audit: AuditLog,
    private readonly clock: Clock,
    private readonly registry: RegistryService,
    private readonly gate: GovernanceGate,
    /** Publishes a tenant event after commit, as the actor host does (`<prefix>.evt.<tenantId>.<type>`). */
    private readonly publish: (tenantId: string, type: string, data: unknown) => void = () => undefined,
  ) {}

  #published(type: string, before: TenantRow, row: TenantRow): TenantDto {
    const dto = tenantDto(row);
    if (row.revision !== before.revision) {
      try {
        this.publish(row.id, type, dto);
      } catch {
        // An event lost here is recovered by the next read; the change itself is committed.
      }
    }
    return dto;
  }

  /** PUT …/stage: MANAGER; CONTROLLED_AUTONOMY needs a governance unlock; raising the stage under a forensic lock is refused. */
  async setStage(tenantId: string, input: { stage: TenantStage; justification: string; unlockId?: string | undefined }, by: Principal): Promise<TenantDto> {
    await this.registry.requireRoleAudited(by, 'MANAGER', 'changing a tenant stage', `tenant:${tenantId}`);
    let before: TenantRow | undefined;
    const row = await runGoverned(this.db, this.audit, by, async (tx) => {
      const tenant = (before = await this.load(tx, tenantId));
      if (tenant.stage === input.stage) return tenant;
      const raising = TENANT_STAGES.indexOf(input.stage) > TENANT_STAGES.indexOf(tenant.stage);
      if (raising && tenant.forensicLock) throw new LockedError(`tenant ${tenantId} is under a forensic lock: ${tenant.forensicLockReason ?? ''}`);
      let unlock: string | null = null;
      if (input.stage === 'CONTROLLED_AUTONOMY') {
        unlock = (await this.gate.requireUnlock(tx, 'tenant.stage.controlled-autonomy', { tenantId, stage: input.stage }, input.unlockId, by)).unlockId;
      }
      const [updated] = await tx
        .update(tenants)
        .set({ stage: input.stage, revision: tenant.revision + 1, updatedAt: this.clock.now() })
        .where(eq(tenants.id, tenant.id))
        .returning();
      await this.audit.append(tx, {
        actor: actorOf(by),
        action: 'tenant.stage.changed',
        subject: `tenant:${tenantId}`,
        payload: { tenantId, from: tenant.stage, to: input.stage, justification: input.justification, unlockId: unlock },
      });
      return updated!;
    });
    return this.#published('tenant.stage.changed', before!, row);
  }

  /** POST …/lock: ADMIN sets a forensic lock. */
  async setLock(tenantId: string, reason: string, by: Principal): Promise<TenantDto> {
    await this.registry.requireRoleAudited(by, 'ADMIN', 'setting a forensic lock', `tenant:${tenantId}`);
    let before: TenantRow | undefined;
    const row = await this.db.transaction(async (txRaw) => {
      const tx = txRaw as unknown as Db;
      const tenant = (before = await this.load(tx, tenantId));
      if (tenant.forensicLock) throw new LockedError(`tenant ${tenantId} is already under a forensic lock: ${tenant.forensicLockReason ?? ''}`);
      const [updated] = await tx
        .update(tenants)
        .set({ forensicLock: true, forensicLockReason: reason, revision: tenant.revision + 1, updatedAt: this.clock.now() })
        .where(eq(tenants.id, tenant.id))
        .returning();
      await this.audit.append(tx, { actor: actorOf(by), action: 'tenant.forensic-lock.set', subject: `tenant:${tenantId}`, payload: { tenantId, reason } });
      return updated!;
    });
    return this.#published('tenant.forensic-lock.set', before!, row);
  }

  /** DELETE …/lock: lifting a forensic lock always needs a governance unlock. */
  async liftLock(tenantId: string, input: { justification: string; unlockId?: string | undefined }, by: Principal): Promise<TenantDto> {
    await this.registry.requireRoleAudited(by, 'MANAGER', 'lifting a forensic lock', `tenant:${tenantId}`);
    let before: TenantRow | undefined;
    const row = await runGoverned(this.db, this.audit, by, async (tx) => {
      const tenant = (before = await this.load(tx, tenantId));
      if (!tenant.forensicLock) throw new IllegalTransitionError(`tenant ${tenantId} is not under a forensic lock`);
      const { unlockId } = await this.gate.requireUnlock(tx, 'tenant.forensic-lock.lift', { tenantId }, input.unlockId, by);
      const [updated] = await tx
        .update(tenants)
        .set({ forensicLock: false, forensicLockReason: null, revision: tenant.revision + 1, updatedAt: this.clock.now() })
        .where(eq(tenants.id, tenant.id))
        .returning();
      await this.audit.append(tx, {
        actor: actorOf(by),
        action: 'tenant.forensic-lock.lifted',
        subject: `tenant:${tenantId}`,
        payload: { tenantId, justification: input.justification, previousReason: tenant.forensicLockReason, unlockId },
      });
      return updated!;
    });
    return this.#published('tenant.forensic-lock.lifted', before!, row);
  }

  /** PUT …/rollout-policy: MANAGER sets canary waves and restricted segments (audited). */
  async setRolloutPolicy(tenantId: string, input: { policy: RolloutPolicy; criticalSegments?: string[] | undefined; justification: string }, by: Principal): Promise<TenantDto> {
    await this.registry.requireRoleAudited(by, 'MANAGER', 'changing a rollout policy', `tenant:${tenantId}`);
    let before: TenantRow | undefined;
    const row = await this.db.transaction(async (txRaw) => {
      const tx = txRaw as unknown as Db;
      const tenant = (before = await this.load(tx, tenantId));
      const [updated] = await tx
        .update(tenants)
        .set({ rolloutPolicy: input.policy, ...(input.criticalSegments ? { criticalSegments: input.criticalSegments } : {}), revision: tenant.revision + 1, updatedAt: this.clock.now() })
        .where(eq(tenants.id, tenant.id))
        .returning();
      await this.audit.append(tx, {
        actor: actorOf(by),
        action: 'tenant.rollout-policy.changed',
        subject: `tenant:${tenantId}`,
        payload: { tenantId, from: tenant.rolloutPolicy, to: input.policy, criticalSegments: input.criticalSegments ?? tenant.criticalSegments, justification: input.justification },
      });
      return updated!;
    });
    return this.#published('tenant.updated', before!, row);
  }

  /** PUT …/risk-matrix: the limits of automatic promotion; a governance-locked change. */
  async setRiskMatrix(tenantId: string, input: { riskMatrix: RiskMatrix; justification: string; unlockId?: string | undefined }, by: Principal): Promise<TenantDto> {
    await this.registry.requireRoleAudited(by, 'MANAGER', 'changing a risk matrix', `tenant:${tenantId}`);
    let before: TenantRow | undefined;
    const row = await runGoverned(this.db, this.audit, by, async (tx) => {
      const tenant = (before = await this.load(tx, tenantId));
      const { unlockId } = await this.gate.requireUnlock(tx, 'tenant.risk-matrix.change', { tenantId, riskMatrix: input.riskMatrix as Record<string, unknown> }, input.unlockId, by);
      const [updated] = await tx
        .update(tenants)
        .set({ riskMatrix: input.riskMatrix, revision: tenant.revision + 1, updatedAt: this.clock.now() })
        .where(eq(tenants.id, tenant.id))
        .returning();
      await this.audit.append(tx, {
        actor: actorOf(by),
        action: 'tenant.risk-matrix.changed',
        subject: `tenant:${tenantId}`,
        payload: { tenantId, from: tenant.riskMatrix, to: input.riskMatrix, justification: input.justification, unlockId },
      });
      return updated!;
    });
    return this.#published('tenant.updated', before!, row);
  }

  /** PUT …/economics: MANAGER sets what accuracy is worth (the ROI figures' money); audited; the same value again writes nothing. */
  async setEconomics(tenantId: string, input: { economics: TenantEconomics; justification: string }, by: Principal): Promise<TenantDto> {
    await this.registry.requireRoleAudited(by, 'MANAGER', 'setting tenant economics', `tenant:${tenantId}`);
    let before: TenantRow | undefined;
    const row = await this.db.transaction(async (txRaw) => {
      const tx = txRaw as unknown as Db;
      const tenant = (before = await this.load(tx, tenantId));
      const same = tenant.economics?.valuePerErrorUnitUsd === input.economics.valuePerErrorUnitUsd && tenant.economics?.unit === input.economics.unit;
      if (same) return tenant;
      const [updated] = await tx
        .update(tenants)
        .set({ economics: input.economics, revision: tenant.revision + 1, updatedAt: this.clock.now() })
        .where(eq(tenants.id, tenant.id))
        .returning();
      await this.audit.append(tx, {
        actor: actorOf(by),
        action: 'tenant.economics.changed',
        subject: `tenant:${tenantId}`,
        payload: { tenantId, from: tenant.economics ?? null, to: input.economics, justification: input.justification },
      });
      return updated!;
    });
    return this.#published('tenant.updated', before!, row);
  }

  private async load(tx: Db, id: string): Promise<TenantRow> {
    const [row] = await tx.select().from(tenants).where(eq(tenants.id, id as TenantId)).for('update').limit(1);
    if (!row) throw new NotFoundError(`no tenant ${id}`);
    return row;
  }
}
