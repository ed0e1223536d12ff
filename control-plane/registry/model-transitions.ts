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
import { casAndRecord, staleRevision, type RowGuard } from './cas-and-record';
import { actorOf, type Principal } from '../../actors/principal';
import { isUuid } from './ids';

/** Versions remembered per node for the hot path (a few hundred bytes each). */
const REMEMBERED_VERSIONS = 4096;

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
  /** The versions this node read or wrote last, with their row version and tenant stage, oldest first. */
  readonly #recent = new Map<string, { model: ModelVersionRow; xmin: string; tenantStage: TenantRow['stage'] }>();

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
    const fast = await this.#fromRemembered(modelId, cmd, by, opts, requestDigest);
    if (fast) return fast;
    const [found] = await this.#preRead.execute({ id: modelId, key: cmd.idempotencyKey });
    if (!found) throw new NotFoundError(`no model version ${modelId}`);
    const prior = typeof found.prior === 'string' ? (JSON.parse(found.prior) as { digest: string; result: ModelDto }) : found.prior;
    if (prior) return { model: replayOf(prior, cmd.idempotencyKey, requestDigest), replayed: true };
    const { model, tenant, xmin } = found;
    this.#remember(model, xmin, tenant.stage);
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
      // A lone compare-and-set statement is atomic by itself and needs no begin/commit round trips.
      if (!isSingleStatement(model, cmd)) {
        this.#recent.delete(model.id);
        return { model: await this.db.transaction((txRaw) => this.applyTransition(txRaw as unknown as Db, model, tenant, cmd, requestDigest, by)), replayed: false };
      }
      return await this.#writeSingle(model, tenant.stage, cmd, requestDigest, by);
    } catch (err) {
      this.#recent.delete(model.id);
      return this.#afterFailedWrite(err, modelId, cmd, requestDigest, tenant.id);
    }
  }

  /**
   * The hot path without its read: a version this node wrote or read last is
   * remembered with its `xmin`, and a command at that revision is decided on
   * it and written with the compare-and-set guarded by that `xmin` and by the
   * tenant's forensic lock. Anything else — a refusal, a guard that no longer
   * holds, a champion move, a key used before — goes the long way (returns
   * null), which reads the row again and answers from what it finds.
   */
  async #fromRemembered(
    modelId: string,
    cmd: TransitionCommand,
    by: Principal,
    opts: { rollback?: boolean },
    requestDigest: string,
  ): Promise<{ model: ModelDto; replayed: boolean } | null> {
    const remembered = this.#recent.get(modelId);
    if (!remembered || remembered.model.revision !== cmd.expectedRevision || !isSingleStatement(remembered.model, cmd)) return null;
    const { model, xmin, tenantStage } = remembered;
    try {
      // The tenant's stage is only read for a move onto the champion seat, which never comes here.
      decideTransition(cmd.to, { model, tenantStage, actorRole: by.role, approvals: [], rollback: opts.rollback === true });
    } catch {
      return null; // refused on what this node remembers: decided again, and audited, on the row itself
    }
    try {
      return await this.#writeSingle(model, tenantStage, cmd, requestDigest, by, { xmin, tenantUnlocked: cmd.to !== 'QUARANTINED' });
    } catch (err) {
      this.#recent.delete(modelId);
      if (err instanceof RevisionConflictError) return null; // the row or its tenant changed: read them
      return this.#afterFailedWrite(err, modelId, cmd, requestDigest, model.tenantId);
    }
  }

  /** The lone compare-and-set statement; the row it leaves is remembered. */
  async #writeSingle(model: ModelVersionRow, tenantStage: TenantRow['stage'], cmd: TransitionCommand, requestDigest: string, by: Principal, guard?: RowGuard) {
    const recorded = await casAndRecord(this.db, this.audit, model, cmd.to, this.clock.now(), this.#record(model, cmd, requestDigest, by), undefined, undefined, guard);
    this.#remember(recorded.row, recorded.xmin, tenantStage);
    return { model: recorded.dto, replayed: false };
  }

  /** What the compare-and-set records of a command: the transition row and its audit entry. */
  #record(model: ModelVersionRow, cmd: TransitionCommand, requestDigest: string, by: Principal) {
    return {
      reason: cmd.reason,
      actor: actorOf(by),
      idempotencyKey: cmd.idempotencyKey,
      requestDigest,
      audit: { tenantId: model.tenantId, from: model.state, to: cmd.to, reason: cmd.reason, revision: cmd.expectedRevision + 1, idempotencyKey: cmd.idempotencyKey },
    };
  }

  #remember(model: ModelVersionRow, xmin: string, tenantStage: TenantRow['stage']): void {
    this.#recent.delete(model.id);
    this.#recent.set(model.id, { model, xmin, tenantStage });
    if (this.#recent.size > REMEMBERED_VERSIONS) this.#recent.delete(this.#recent.keys().next().value!);
  }

  /** A write that failed: a concurrent request with the same key may have won (answer as it did), or the row moved. */
  async #afterFailedWrite(err: unknown, modelId: string, cmd: TransitionCommand, requestDigest: string, tenantId: string): Promise<{ model: ModelDto; replayed: boolean }> {
    if (err instanceof RevisionConflictError || pgErrorCode(err) === UNIQUE_VIOLATION) {
      const again = await this.findReplay(modelId, cmd.idempotencyKey, requestDigest);
      if (again) return { model: again, replayed: true };
      if (pgConstraint(err) === 'model_versions_one_champion' || String((err as Error).message).includes('one_champion')) {
        throw new RevisionConflictError(`another version of tenant ${tenantId} became CHAMPION concurrently; reload and retry`);
      }
      if (err instanceof RevisionConflictError) throw err;
      throw new RevisionConflictError(`model version ${modelId} changed concurrently; reload and retry`, { cause: err });
    }
    throw err;
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

    const { dto } = await casAndRecord(tx, this.audit, model, cmd.to, now, this.#record(model, cmd, requestDigest, by), cmd.expectedRevision, previousStableId);
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
      xmin: sql<string>`${modelVersions}.xmin::text`,
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

/** Only a move onto or off the champion seat writes more than the one compare-and-set statement. */
function isSingleStatement(model: ModelVersionRow, cmd: TransitionCommand): boolean {
  return cmd.to !== 'CHAMPION' && model.state !== 'CHAMPION';
}

/** The stored answer for a replayed key, or a conflict when the key meant something else. */
function replayOf(prior: { digest: string; result: ModelDto }, idempotencyKey: string, requestDigest: string): ModelDto {
  if (prior.digest !== requestDigest) {
    throw new IdempotencyConflictError(`idempotency key ${idempotencyKey} was already used for a different transition of this model version`);
  }
  return prior.result;
}
