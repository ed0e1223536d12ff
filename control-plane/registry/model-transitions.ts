import { and, eq, asc, sql } from 'drizzle-orm';
import { decideTransition } from '../../actors/model-version/lifecycle';
import { IdempotencyConflictError, LockedError, NotFoundError, RevisionConflictError, TollgateError } from '../../actors/errors';
import type { Db } from '../../db/client';
import { approvals, modelVersions, tenants, transitions, type ModelVersionRow, type TenantRow } from '../../db/schema';
import type { ModelState, ModelVersionId } from '../../db/schema/enums';
import type { AuditLog } from '../audit/audit-store';
import { canonicalJson, sha256Hex } from '../audit/format';
import { pgConstraint, pgErrorCode, UNIQUE_VIOLATION } from '../db-errors';
import type { Clock } from '../ports/clock';
import { type ModelDto } from './dto';
import { casAndRecord, staleRevision } from './cas-and-record';
import { actorOf, type Principal } from '../../actors/principal';
import { isUuid } from './ids';

/** What a transition reads of its tenant. */
type TransitionTenant = Pick<TenantRow, 'id' | 'stage' | 'forensicLock' | 'forensicLockReason' | 'revision'>;

export interface TransitionCommand {
  to: ModelState;
  reason: string;
  idempotencyKey: string;
  expectedRevision: number;
}

/**
 * The write path of the lifecycle, kept lean because it is the hot path:
 * one pre-read, then one statement (compare-and-set, the transition record
 * and the queued audit record together); a champion change adds the seat
 * swap in one transaction.
 */
export class ModelTransitions {
  /** The hot path's read, built once (drizzle otherwise rebuilds the SQL text on every call). */
  readonly #preRead;

  constructor(
    private readonly db: Db,
    private readonly audit: AuditLog,
    private readonly clock: Clock,
  ) {
    this.#preRead = preReadQuery(db);
  }

  /**
   * Moves a model version along its lifecycle: idempotent by key,
   * compare-and-set on `expectedRevision`, champion swap in the same
   * transaction, audited whether it happens or is refused. Says whether the
   * answer is a replay (nothing written).
   */
  async run(
    modelId: string,
    cmd: TransitionCommand,
    by: Principal,
    opts: { rollback?: boolean } = {},
  ): Promise<{ model: ModelDto; replayed: boolean }> {
    const requestDigest = sha256Hex(canonicalJson({ to: cmd.to, reason: cmd.reason, expectedRevision: cmd.expectedRevision }));
    if (!isUuid(modelId)) throw new NotFoundError(`no model version ${modelId}`);
    const [found] = await this.#preRead.execute({ id: modelId, key: cmd.idempotencyKey });
    if (!found) throw new NotFoundError(`no model version ${modelId}`);
    const prior = typeof found.prior === 'string' ? (JSON.parse(found.prior) as { digest: string; result: ModelDto }) : found.prior;
    if (prior) return { model: replayOf(prior, cmd.idempotencyKey, requestDigest), replayed: true };
    const { model, tenant } = found;
    // A client that has not seen the current revision gets a conflict, not a
    // verdict on a state it never saw.
    if (model.revision !== cmd.expectedRevision) throw staleRevision(model.id, cmd.expectedRevision, model.revision);

    try {
      if (tenant.forensicLock && cmd.to !== 'QUARANTINED') {
        throw new LockedError(`tenant ${tenant.id} is under a forensic lock (${tenant.forensicLockReason ?? 'no reason given'}); only quarantine is allowed`);
      }
      const approvalRows = cmd.to === 'CHAMPION' ? await this.db.select().from(approvals).where(eq(approvals.modelVersionId, model.id)).orderBy(asc(approvals.at)) : [];
      decideTransition(cmd.to, {
        model,
        tenantStage: tenant.stage,
        actorRole: by.role,
        approvals: approvalRows,
        rollback: opts.rollback === true,
      });
    } catch (err) {
      if (err instanceof TollgateError) await this.auditRefusal(by, model, cmd, err);
      throw err;
    }
    try {
      // Only a move onto or off the champion seat writes more than one statement; a lone
      // compare-and-set statement is atomic by itself and needs no begin/commit round trips.
      const single = cmd.to !== 'CHAMPION' && model.state !== 'CHAMPION';
      const apply = (db: Db) => this.applyTransition(db, model, tenant, cmd, requestDigest, by);
      return { model: single ? await apply(this.db) : await this.db.transaction((txRaw) => apply(txRaw as unknown as Db)), replayed: false };
    } catch (err) {
      // A concurrent request with the same key may have won: answer as it did.
      if (err instanceof RevisionConflictError || pgErrorCode(err) === UNIQUE_VIOLATION) {
        const again = await this.findReplay(modelId, cmd.idempotencyKey, requestDigest);
        if (again) return { model: again, replayed: true };
        if (pgConstraint(err) === 'model_versions_one_champion' || String((err as Error).message).includes('one_champion')) {
          throw new RevisionConflictError(`another version of tenant ${tenant.id} became CHAMPION concurrently; reload and retry`);
        }
        if (err instanceof RevisionConflictError) throw err;
        throw new RevisionConflictError(`model version ${model.id} changed concurrently; reload and retry`, { cause: err });
      }
      throw err;
    }
  }

  private async applyTransition(
    tx: Db,
    model: ModelVersionRow,
    tenant: TransitionTenant,
    cmd: TransitionCommand,
    requestDigest: string,
    by: Principal,
  ): Promise<ModelDto> {
    const now = this.clock.now();
    const actor = actorOf(by);
    let previousStableId: ModelVersionId | null = model.previousStableId;

    if (cmd.to === 'CHAMPION') {
      // Demote the sitting champion first: the partial unique index allows one.
      const [sitting] = await tx
        .select()
        .from(modelVersions)
        .where(and(eq(modelVersions.tenantId, tenant.id), eq(modelVersions.state, 'CHAMPION')))
        .for('update');
      if (sitting && sitting.id !== model.id) {
        await casAndRecord(tx, this.audit, sitting, 'DEPRECATED', now, {
          reason: `superseded by ${model.id}: ${cmd.reason}`,
          actor,
          idempotencyKey: `supersede:${model.id}:${cmd.idempotencyKey}`,
          requestDigest,
          audit: { tenantId: tenant.id, from: 'CHAMPION', to: 'DEPRECATED', reason: `superseded by ${model.id}`, revision: sitting.revision + 1 },
        });
        previousStableId = sitting.id;
      }
    }

    const dto = await casAndRecord(
      tx,
      this.audit,
      model,
      cmd.to,
      now,
      {
        reason: cmd.reason,
        actor,
        idempotencyKey: cmd.idempotencyKey,
        requestDigest,
        audit: { tenantId: tenant.id, from: model.state, to: cmd.to, reason: cmd.reason, revision: cmd.expectedRevision + 1, idempotencyKey: cmd.idempotencyKey },
      },
      cmd.expectedRevision,
      previousStableId,
    );
    if (cmd.to === 'CHAMPION') {
      await tx.update(tenants).set({ championId: model.id, revision: tenant.revision + 1, updatedAt: now }).where(eq(tenants.id, tenant.id));
    } else if (model.state === 'CHAMPION') {
      await tx.update(tenants).set({ championId: null, updatedAt: now }).where(and(eq(tenants.id, tenant.id), eq(tenants.championId, model.id)));
    }
    return dto;
  }

  private async findReplay(modelId: string, idempotencyKey: string, requestDigest: string): Promise<ModelDto | null> {
    if (!isUuid(modelId)) return null;
    const [prior] = await this.db
      .select({ requestDigest: transitions.requestDigest, result: transitions.result })
      .from(transitions)
      .where(and(eq(transitions.modelVersionId, modelId as ModelVersionId), eq(transitions.idempotencyKey, idempotencyKey)))
      .limit(1);
    return prior ? replayOf({ digest: prior.requestDigest, result: prior.result as ModelDto }, idempotencyKey, requestDigest) : null;
  }

  private async auditRefusal(by: Principal, model: ModelVersionRow, cmd: TransitionCommand, err: TollgateError): Promise<void> {
    await this.audit.append(this.db, {
      actor: actorOf(by),
      action: 'model.transition.refused',
      subject: `model:${model.id}`,
      payload: { tenantId: model.tenantId, from: model.state, to: cmd.to, reason: cmd.reason, code: err.code, message: err.message, revision: model.revision },
    });
  }
}

/** The version, its tenant and any earlier use of the idempotency key, in one round trip. */
function preReadQuery(db: Db) {
  return db
    .select({
      model: modelVersions,
      // Only what a transition reads of its tenant (the policy and economics JSON stay in the database).
      tenant: { id: tenants.id, stage: tenants.stage, forensicLock: tenants.forensicLock, forensicLockReason: tenants.forensicLockReason, revision: tenants.revision },
      prior: sql<{ digest: string; result: ModelDto } | null>`(
        select json_build_object('digest', ${transitions.requestDigest}, 'result', ${transitions.result}) from ${transitions}
        where ${transitions.modelVersionId} = ${modelVersions.id} and ${transitions.idempotencyKey} = ${sql.placeholder('key')})`,
    })
    .from(modelVersions)
    .innerJoin(tenants, eq(tenants.id, modelVersions.tenantId))
    .where(eq(modelVersions.id, sql.placeholder('id')))
    .limit(1)
    .prepare('tollgate_model_pre_read');
}

/** The stored answer for a replayed key, or a conflict when the key meant something else. */
function replayOf(prior: { digest: string; result: ModelDto }, idempotencyKey: string, requestDigest: string): ModelDto {
  if (prior.digest !== requestDigest) {
    throw new IdempotencyConflictError(`idempotency key ${idempotencyKey} was already used for a different transition of this model version`);
  }
  return prior.result;
}
