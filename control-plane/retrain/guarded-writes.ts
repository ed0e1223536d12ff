import { sql } from 'drizzle-orm';
import { FencingError, IllegalTransitionError } from '../../actors/errors';
import type { Db } from '../../db/client';
import { rowsOf } from '../../db/rows';
import type { AuditLog } from '../audit/audit-store';
import { fenceHolds } from '../lock/fences';

/** The lease a job writes under: its lock key and the fencing token it was given. */
export interface Fence {
  readonly lockKey: string;
  readonly token: number;
}

export const RETRAIN_ACTOR = 'system:retrain';

/**
 * Every write a retrain job makes, each one statement that also checks the
 * job's fencing token is still the latest: a holder that lost its lock (paused
 * past its TTL, cut off) gets a FencingError, audited, and writes nothing.
 */
export class GuardedWrites {
  constructor(
    private readonly db: Db,
    private readonly audit: AuditLog,
  ) {}

  async insertSnapshot(
    fence: Fence,
    s: { id: string; tenantId: string; featureSignature: string; merkleRoot: string; rowCount: number; manifest: unknown; createdAt: Date },
  ): Promise<void> {
    const rows = rowsOf<{ id: string }>(
      await this.db.execute(sql`
        insert into dataset_snapshots (id, tenant_id, feature_signature, merkle_root, row_count, manifest, created_at)
        select ${s.id}, ${s.tenantId}, ${s.featureSignature}, ${s.merkleRoot}, ${s.rowCount}, ${JSON.stringify(s.manifest)}::jsonb, ${s.createdAt.toISOString()}::timestamptz
        where ${fenceHolds(fence.lockKey, fence.token)}
        on conflict (id) do nothing
        returning id`),
    );
    if (!rows.length) await this.#refuse(fence, s.tenantId, 'snapshot', { snapshotId: s.id });
  }

  /** A new DRAFT version; its audit entry is written in the same transaction. */
  async registerModelVersion(
    fence: Fence,
    m: { id: string; tenantId: string; label: string; owner: string; featureSignature: string; parentId: string | null; snapshotId: string; createdAt: Date },
  ): Promise<void> {
    const inserted = await this.db.transaction(async (txRaw) => {
      const tx = txRaw as unknown as Db;
      const rows = rowsOf<{ id: string }>(
        await tx.execute(sql`
          insert into model_versions (id, tenant_id, label, owner, feature_signature, parent_id, state, created_at, updated_at)
          select ${m.id}::uuid, ${m.tenantId}, ${m.label}, ${m.owner}, ${m.featureSignature}, ${m.parentId}::uuid, 'DRAFT', ${m.createdAt.toISOString()}::timestamptz, ${m.createdAt.toISOString()}::timestamptz
          where ${fenceHolds(fence.lockKey, fence.token)}
          returning id`),
      );
      if (!rows.length) return false;
      await this.audit.append(tx, {
        actor: RETRAIN_ACTOR,
        action: 'model.registered',
        subject: `model:${m.id}`,
        payload: { tenantId: m.tenantId, id: m.id, label: m.label, owner: m.owner, featureSignature: m.featureSignature, artifactSha256: null, snapshotId: m.snapshotId, fencingToken: fence.token },
      });
      return true;
    });
    if (!inserted) await this.#refuse(fence, m.tenantId, 'model-version', { modelVersionId: m.id });
  }

  /** Records a stored artifact and points the (DRAFT or TRAINING) version at it, in one statement. */
  async registerArtifact(
    fence: Fence,
    a: { tenantId: string; modelVersionId: string; sha256: string; bytes: number; kid: string; signature: string; createdAt: Date },
  ): Promise<void> {
    const rows = rowsOf<{ id: string }>(
      await this.db.execute(sql`
        with ok as (select 1 where ${fenceHolds(fence.lockKey, fence.token)}),
        art as (
          insert into model_artifacts (tenant_id, sha256, model_version_id, bytes, kid, signature, created_at)
          select ${a.tenantId}, ${a.sha256}, ${a.modelVersionId}::uuid, ${a.bytes}, ${a.kid}, ${a.signature}, ${a.createdAt.toISOString()}::timestamptz from ok
          on conflict (tenant_id, sha256) do update set model_version_id = excluded.model_version_id, deleted_at = null
          returning 1
        )
        update model_versions set artifact_sha256 = ${a.sha256}, updated_at = ${a.createdAt.toISOString()}::timestamptz
        where id = ${a.modelVersionId}::uuid and state in ('DRAFT', 'TRAINING') and exists (select 1 from ok)
        returning id`),
    );
    if (rows.length) return;
    // Nothing written: either the fence moved on, or the version left DRAFT/TRAINING (e.g. failed by a timeout).
    if ((await this.#latest(fence)) === fence.token) {
      throw new IllegalTransitionError(`model version ${a.modelVersionId} is no longer in DRAFT or TRAINING; its artifact was not recorded`);
    }
    await this.#refuse(fence, a.tenantId, 'artifact', { modelVersionId: a.modelVersionId, sha256: a.sha256 });
  }

  async #latest(fence: Fence): Promise<number | null> {
    const row = rowsOf<{ token: string | number }>(await this.db.execute(sql`select token from retrain_fences where lock_key = ${fence.lockKey}`))[0];
    return row ? Number(row.token) : null;
  }

  async #refuse(fence: Fence, tenantId: string, write: string, details: Record<string, unknown>): Promise<never> {
    const payload = { write, lockKey: fence.lockKey, token: fence.token, latestToken: await this.#latest(fence), ...details };
    await this.audit.append(this.db, { actor: RETRAIN_ACTOR, action: 'retrain.fenced', subject: `tenant:${tenantId}`, payload });
    throw new FencingError(`the ${write} write of tenant ${tenantId} carries fencing token ${fence.token} but the latest is ${payload.latestToken}: its lock was lost`, {
      details: payload,
    });
  }
}
