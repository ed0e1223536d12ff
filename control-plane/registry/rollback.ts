import { randomUUID } from 'node:crypto';
import { and, eq } from 'drizzle-orm';
import { decideTransition } from '../../actors/model-version/lifecycle';
import { LockedError, NothingToRollBackError, NotFoundError, TollgateError } from '../../actors/errors';
import { actorOf, type Principal } from '../../actors/principal';
import type { Db } from '../../db/client';
import { modelVersions, tenants } from '../../db/schema';
import type { TenantId } from '../../db/schema/enums';
import type { AuditLog } from '../audit/audit-store';
import { canonicalJson, sha256Hex } from '../audit/format';
import type { Clock } from '../ports/clock';
import { casAndRecord } from './cas-and-record';
import { tenantDto, type ModelDto, type TenantDto } from './dto';

export interface RollbackOutcome {
  tenant: TenantDto;
  /** The version that was champion, now ROLLED_BACK. */
  rolledBack: ModelDto;
  /** The previous stable version, CHAMPION again. */
  restored: ModelDto;
  reason: string;
  at: string;
}

/**
 * A production rollback, as one transaction: the champion becomes
 * ROLLED_BACK, the previous stable version CHAMPION again (a pointer switch:
 * no retraining, no data touched), and the tenant goes under a forensic lock
 * so that nothing else changes until someone has looked. Both transitions
 * pass the lifecycle's guards with `rollback` set, and both are audited.
 */
export async function rollbackTenant(
  deps: { db: Db; audit: AuditLog; clock: Clock },
  tenantId: string,
  input: { reason: string; trigger?: string },
  by: Principal,
): Promise<RollbackOutcome> {
  const { db, audit, clock } = deps;
  // A refusal leaves the transaction first (on PGlite it holds the only connection), then is audited.
  const refuse = (err: TollgateError) => ({ refusal: err });
  const outcome = await db.transaction(async (txRaw): Promise<RollbackOutcome | { refusal: TollgateError }> => {
    const tx = txRaw as unknown as Db;
    const [tenant] = await tx.select().from(tenants).where(eq(tenants.id, tenantId as TenantId)).for('update');
    if (!tenant) throw new NotFoundError(`no tenant ${tenantId}`);
    if (tenant.forensicLock) {
      return refuse(new LockedError(`tenant ${tenantId} is already under a forensic lock (${tenant.forensicLockReason ?? 'no reason given'}); lift it before another rollback`));
    }
    const [champion] = await tx.select().from(modelVersions).where(and(eq(modelVersions.tenantId, tenant.id), eq(modelVersions.state, 'CHAMPION'))).for('update');
    if (!champion) return refuse(new NothingToRollBackError(`tenant ${tenantId} has no champion to roll back`));
    const [previous] = champion.previousStableId
      ? await tx.select().from(modelVersions).where(eq(modelVersions.id, champion.previousStableId)).for('update')
      : [];
    if (!previous || previous.state !== 'DEPRECATED') {
      return refuse(new NothingToRollBackError(`champion ${champion.id} of tenant ${tenantId} has no previous stable version to roll back to`));
    }
    const ctx = { tenantStage: tenant.stage, actorRole: by.role, approvals: [], rollback: true };
    try {
      decideTransition('ROLLED_BACK', { ...ctx, model: champion });
      decideTransition('CHAMPION', { ...ctx, model: previous });
    } catch (err) {
      if (err instanceof TollgateError) return refuse(err);
      throw err;
    }
    const now = clock.now();
    const actor = actorOf(by);
    const key = `rollback:${randomUUID()}`;
    const requestDigest = sha256Hex(canonicalJson({ rollback: tenantId, reason: input.reason }));
    const audited = (from: string, to: string, revision: number) => ({ tenantId, from, to, reason: input.reason, revision, rollback: true, ...(input.trigger ? { trigger: input.trigger } : {}) });
    // The champion leaves first: the partial unique index allows one CHAMPION.
    const { dto: rolledBack } = await casAndRecord(tx, audit, champion, 'ROLLED_BACK', now, {
      reason: input.reason,
      actor,
      idempotencyKey: `${key}:out`,
      requestDigest,
      audit: audited('CHAMPION', 'ROLLED_BACK', champion.revision + 1),
    });
    const { dto: restored } = await casAndRecord(tx, audit, previous, 'CHAMPION', now, {
      reason: `rollback from ${champion.id}: ${input.reason}`,
      actor,
      idempotencyKey: `${key}:in`,
      requestDigest,
      audit: audited('DEPRECATED', 'CHAMPION', previous.revision + 1),
    });
    const lockReason = `production rollback of ${champion.label} (${champion.id}): ${input.reason}`;
    const [updated] = await tx
      .update(tenants)
      .set({ championId: previous.id, forensicLock: true, forensicLockReason: lockReason, revision: tenant.revision + 1, updatedAt: now })
      .where(eq(tenants.id, tenant.id))
      .returning();
    await audit.append(tx, {
      actor,
      action: 'tenant.rollback',
      subject: `tenant:${tenantId}`,
      payload: { from: champion.id, to: previous.id, reason: input.reason, featureSignature: champion.featureSignature, forensicLock: lockReason, ...(input.trigger ? { trigger: input.trigger } : {}) },
    });
    return { tenant: tenantDto(updated!), rolledBack, restored, reason: input.reason, at: now.toISOString() };
  });
  if ('refusal' in outcome) {
    const err = outcome.refusal;
    await audit.append(db, { actor: actorOf(by), action: 'tenant.rollback.refused', subject: `tenant:${tenantId}`, payload: { reason: input.reason, code: err.code, message: err.message } });
    throw err;
  }
  return outcome;
}
