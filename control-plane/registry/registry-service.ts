import { randomUUID } from 'node:crypto';
import { and, asc, eq, gt, notInArray } from 'drizzle-orm';
import type { Db } from '../../db/client';
import { approvals, modelVersions, tenants, type ModelVersionRow, type TenantRow } from '../../db/schema';
import type { ModelVersionId, TenantId, TenantStage } from '../../db/schema/enums';
import { roleAtLeast, TERMINAL_STATES } from '../../actors/model-version/lifecycle';
import { AlreadyExistsError, ForbiddenError, GovernanceUnlockRequiredError, IllegalTransitionError, LockedError, NotFoundError } from '../../actors/errors';
import type { AuditLog } from '../audit/audit-store';
import { pgErrorCode, UNIQUE_VIOLATION } from '../db-errors';
import type { Clock } from '../ports/clock';
import { modelDto, tenantDto, type ModelDto, type TenantDto } from './dto';
import { isUuid } from './ids';
import { ModelTransitions, type TransitionCommand } from './model-transitions';
import { rollbackTenant, type RollbackOutcome } from './rollback';
import { autonomyCriteria } from './autonomy';
import type { AlertInput } from '../alerts/raise-alert';

export type { TransitionCommand } from './model-transitions';
import { actorOf, type Principal } from '../../actors/principal';

export interface Page<T> {
  items: T[];
  next?: string;
}

/**
 * The model registry: tenants, model versions and their lifecycle. Every
 * change is one transaction that also appends its audit entry; refusals are
 * audited in a transaction of their own.
 */
export class RegistryService {
  private readonly transitions: ModelTransitions;

  constructor(
    private readonly db: Db,
    private readonly audit: AuditLog,
    private readonly clock: Clock,
    /** Raises an alert (table + alerts stream); absent in unit setups. */
    private readonly alert: (input: AlertInput) => Promise<unknown> = async () => undefined,
    /** Run after a committed production rollback (e.g. the retraining cooldown blacklist). */
    private readonly afterRollback: Array<(outcome: RollbackOutcome) => Promise<void>> = [],
  ) {
    this.transitions = new ModelTransitions(db, audit, clock);
  }

  /**
   * Production rollback (ADMIN): previous stable version back to CHAMPION,
   * the champion ROLLED_BACK, a forensic lock on the tenant, a P1 alert.
   */
  async rollback(tenantId: string, input: { reason: string; trigger?: string }, by: Principal): Promise<RollbackOutcome> {
    await this.requireRoleAudited(by, 'ADMIN', 'rolling a tenant back', `tenant:${tenantId}`);
    const outcome = await rollbackTenant({ db: this.db, audit: this.audit, clock: this.clock }, tenantId, input, by);
    await this.alert({
      tenantId,
      severity: 'P1',
      kind: 'rollback.production',
      dedupeKey: `rollback:${tenantId}:${outcome.rolledBack.id}`,
      message: `Production rollback on tenant ${tenantId}: ${outcome.rolledBack.label} → ${outcome.restored.label} (${input.reason}); the tenant is under a forensic lock`,
      details: { from: outcome.rolledBack.id, to: outcome.restored.id, reason: input.reason, by: actorOf(by), ...(input.trigger ? { trigger: input.trigger } : {}) },
    });
    for (const hook of this.afterRollback) await hook(outcome);
    return outcome;
  }

  async createTenant(input: { id: string; name: string; stage?: TenantStage }, by: Principal): Promise<TenantDto> {
    await this.requireRoleAudited(by, 'ADMIN', 'creating a tenant', `tenant:${input.id}`);
    // CONTROLLED_AUTONOMY is governance-locked: a tenant reaches it only through PUT …/stage with an unlock.
    if (input.stage === 'CONTROLLED_AUTONOMY') {
      throw new GovernanceUnlockRequiredError('a tenant starts in SHADOW_MODE or PILOT; CONTROLLED_AUTONOMY needs a governance unlock (PUT /api/v1/tenants/:tenantId/stage with unlockId)');
    }
    const now = this.clock.now();
    try {
      const row = await this.db.transaction(async (txRaw) => {
        const tx = txRaw as unknown as Db;
        const [created] = await tx
          .insert(tenants)
          .values({ id: input.id as TenantId, name: input.name, stage: input.stage ?? 'SHADOW_MODE', createdAt: now, updatedAt: now })
          .returning();
        await this.audit.append(tx, {
          actor: actorOf(by),
          action: 'tenant.created',
          subject: `tenant:${input.id}`,
          payload: { id: input.id, name: input.name, stage: created!.stage },
        });
        return created!;
      });
      return tenantDto(row);
    } catch (err) {
      if (pgErrorCode(err) === UNIQUE_VIOLATION) throw new AlreadyExistsError(`tenant ${input.id} already exists`);
      throw err;
    }
  }

  async getTenant(id: string): Promise<TenantDto> {
    return tenantDto(await this.loadTenant(this.db, id));
  }

  async listTenants(after: string | undefined, limit: number): Promise<Page<TenantDto>> {
    const rows = await this.db
      .select()
      .from(tenants)
      .where(after ? gt(tenants.id, after as TenantId) : undefined)
      .orderBy(asc(tenants.id))
      .limit(limit + 1);
    return page(rows.map(tenantDto), limit, (t) => t.id);
  }

  async createModel(
    tenantId: string,
    input: { label: string; owner?: string | null; featureSignature: string; artifactSha256?: string | null; parentId?: string | null },
    by: Principal,
  ): Promise<ModelDto> {
    await this.requireRoleAudited(by, 'MANAGER', 'registering a model version', `tenant:${tenantId}`);
    const tenant = await this.loadTenant(this.db, tenantId);
    if (tenant.forensicLock) throw new LockedError(`tenant ${tenantId} is under a forensic lock: ${tenant.forensicLockReason ?? ''}`);
    const now = this.clock.now();
    const id = randomUUID() as ModelVersionId;
    try {
      const row = await this.db.transaction(async (txRaw) => {
        const tx = txRaw as unknown as Db;
        const [created] = await tx
          .insert(modelVersions)
          .values({
            id,
            tenantId: tenant.id,
            label: input.label,
            owner: input.owner ?? null,
            featureSignature: input.featureSignature,
            artifactSha256: input.artifactSha256 ?? null,
            parentId: (input.parentId ?? null) as ModelVersionId | null,
            createdAt: now,
            updatedAt: now,
          })
          .returning();
        await this.audit.append(tx, {
          actor: actorOf(by),
          action: 'model.registered',
          subject: `model:${id}`,
          payload: { tenantId, id, label: input.label, owner: input.owner ?? null, featureSignature: input.featureSignature, artifactSha256: input.artifactSha256 ?? null },
        });
        return created!;
      });
      return modelDto(row);
    } catch (err) {
      if (pgErrorCode(err) === UNIQUE_VIOLATION) {
        throw new AlreadyExistsError(`tenant ${tenantId} already has a model version labelled ${input.label}`);
      }
      throw err;
    }
  }

  async tenantIds(): Promise<string[]> {
    return (await this.db.select({ id: tenants.id }).from(tenants)).map((r) => r.id);
  }

  /** Ids of every model version not in a terminal state (actors preloaded at start). */
  async liveModelIds(): Promise<string[]> {
    const rows = await this.db
      .select({ id: modelVersions.id })
      .from(modelVersions)
      .where(notInArray(modelVersions.state, [...TERMINAL_STATES]));
    return rows.map((r) => r.id);
  }

  async getModel(id: string): Promise<ModelDto> {
    return modelDto(await this.loadModel(this.db, id));
  }

  async listModels(tenantId: string, after: string | undefined, limit: number): Promise<Page<ModelDto>> {
    await this.loadTenant(this.db, tenantId);
    const rows = await this.db
      .select()
      .from(modelVersions)
      .where(and(eq(modelVersions.tenantId, tenantId as TenantId), after ? gt(modelVersions.id, after as ModelVersionId) : undefined))
      .orderBy(asc(modelVersions.id))
      .limit(limit + 1);
    return page(rows.map(modelDto), limit, (m) => m.id);
  }

  /** Records a MANAGER's named decision on a model version. */
  async recordApproval(
    modelId: string,
    input: { decision: 'approve' | 'reject'; justification: string },
    by: Principal,
  ): Promise<{ id: string; modelVersionId: string; approver: string; decision: string; justification: string; at: string }> {
    await this.requireRoleAudited(by, 'MANAGER', 'approving a model version', `model:${modelId}`);
    const model = await this.loadModel(this.db, modelId);
    const at = this.clock.now();
    const id = randomUUID();
    await this.db.transaction(async (txRaw) => {
      const tx = txRaw as unknown as Db;
      await tx.insert(approvals).values({ id, modelVersionId: model.id, approver: by.name, role: by.role, decision: input.decision, justification: input.justification, at });
      await this.audit.append(tx, {
        actor: actorOf(by),
        action: `model.approval.${input.decision}`,
        subject: `model:${model.id}`,
        payload: { tenantId: model.tenantId, decision: input.decision, justification: input.justification, state: model.state, revision: model.revision },
      });
    });
    return { id, modelVersionId: model.id, approver: by.name, decision: input.decision, justification: input.justification, at: at.toISOString() };
  }

  /**
   * Moves a model version along its lifecycle (see ModelTransitions):
   * idempotent by key, compare-and-set on `expectedRevision`, audited
   * whether it happens or is refused.
   */
  async transition(modelId: string, cmd: TransitionCommand, by: Principal, opts: { rollback?: boolean } = {}): Promise<ModelDto> {
    return (await this.transitions.run(modelId, cmd, by, opts)).model;
  }

  /** As `transition`, also saying whether the answer is a replay (nothing written). */
  transitionWithOutcome(modelId: string, cmd: TransitionCommand, by: Principal, opts: { rollback?: boolean } = {}): Promise<{ model: ModelDto; replayed: boolean }> {
    return this.transitions.run(modelId, cmd, by, opts);
  }

  /** Adds a step run after every committed production rollback (the retraining cooldown blacklist). */
  onRollback(hook: (outcome: RollbackOutcome) => Promise<void>): void {
    this.afterRollback.push(hook);
  }

  /** The exit criteria of the tenant's autonomy stage, computed now. */
  async autonomy(tenantId: string) {
    const tenant = await this.loadTenant(this.db, tenantId);
    return autonomyCriteria(this.db, this.audit, tenant.id, tenant.stage, this.clock.now());
  }

  /** Moves a CANARY version's share of traffic (a wave, or 0 to pause it). */
  async setCanaryTraffic(modelId: string, input: { percent: number; reason: string }, by: Principal): Promise<ModelDto> {
    await this.requireRoleAudited(by, 'MANAGER', 'changing canary traffic', `model:${modelId}`);
    const model = await this.loadModel(this.db, modelId);
    const tenant = await this.loadTenant(this.db, model.tenantId);
    if (tenant.forensicLock) throw new LockedError(`tenant ${tenant.id} is under a forensic lock (${tenant.forensicLockReason ?? 'no reason given'})`);
    const now = this.clock.now();
    const row = await this.db.transaction(async (txRaw) => {
      const tx = txRaw as unknown as Db;
      const [updated] = await tx
        .update(modelVersions)
        .set({ canaryTrafficPercent: input.percent, updatedAt: now })
        .where(and(eq(modelVersions.id, model.id), eq(modelVersions.state, 'CANARY')))
        .returning();
      if (!updated) return null;
      await this.audit.append(tx, {
        actor: actorOf(by),
        action: 'canary.traffic',
        subject: `model:${model.id}`,
        payload: { tenantId: model.tenantId, from: model.canaryTrafficPercent, to: input.percent, reason: input.reason },
      });
      return updated;
    });
    if (!row) throw new IllegalTransitionError(`model version ${model.id} is ${model.state}, not CANARY: only a canary has canary traffic`);
    return modelDto(row);
  }

  /** Role check whose refusal is an audit entry. */
  async requireRoleAudited(by: Principal, needed: 'MANAGER' | 'ADMIN', what: string, subject: string): Promise<void> {
    if (roleAtLeast(by.role, needed)) return;
    const err = new ForbiddenError(`${what} needs the ${needed} role; ${by.name} is ${by.role}`);
    await this.audit.append(this.db, {
      actor: actorOf(by),
      action: 'auth.refused',
      subject,
      payload: { needed, role: by.role, what },
    });
    throw err;
  }

  private async loadTenant(db: Db, id: string): Promise<TenantRow> {
    const [row] = await db.select().from(tenants).where(eq(tenants.id, id as TenantId)).limit(1);
    if (!row) throw new NotFoundError(`no tenant ${id}`);
    return row;
  }

  private async loadModel(db: Db, id: string): Promise<ModelVersionRow> {
    if (!isUuid(id)) throw new NotFoundError(`no model version ${id}`);
    const [row] = await db.select().from(modelVersions).where(eq(modelVersions.id, id as ModelVersionId)).limit(1);
    if (!row) throw new NotFoundError(`no model version ${id}`);
    return row;
  }
}


function page<T>(rows: T[], limit: number, cursorOf: (t: T) => string): Page<T> {
  if (rows.length <= limit) return { items: rows };
  const items = rows.slice(0, limit);
  return { items, next: cursorOf(items[items.length - 1]!) };
}
