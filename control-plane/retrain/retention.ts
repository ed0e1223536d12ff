import { and, eq, isNull } from 'drizzle-orm';
import type { Db } from '../../db/client';
import { modelArtifacts, modelVersions, tenants } from '../../db/schema';
import type { TenantId } from '../../db/schema/enums';
import type { AuditLog } from '../audit/audit-store';
import type { Clock } from '../ports/clock';
import type { FsArtifactStore } from './artifact-store';
import { RETRAIN_ACTOR } from './guarded-writes';

const DAY_MS = 86_400_000;

export interface RetentionPolicy {
  /** The newest versions kept whatever their state. */
  keepLast: number;
  /** DRAFT / FAILED artifacts older than this are collected. */
  collectAfterDays: number;
}

export const DEFAULT_RETENTION: RetentionPolicy = { keepLast: 5, collectAfterDays: 7 };

// Champions past and present (DEPRECATED = a former champion, ROLLED_BACK = kept for forensics).
const CHAMPION_LINE = new Set(['CHAMPION', 'DEPRECATED', 'ROLLED_BACK']);
const COLLECTABLE = new Set(['DRAFT', 'FAILED']);

/**
 * Artifact retention: keeps the last 5 versions of a tenant and every
 * champion; the artifacts of DRAFT and FAILED versions beyond those are
 * removed once 7 days old. Each removal is audited; the row stays, marked
 * `deleted_at`, so the digest and its signature remain on record.
 */
export async function collectArtifacts(
  d: { db: Db; audit: AuditLog; clock: Clock; artifacts: FsArtifactStore },
  policy: RetentionPolicy = DEFAULT_RETENTION,
): Promise<Array<{ tenantId: string; sha256: string; modelVersionId: string | null }>> {
  const now = d.clock.now();
  const cutoff = now.getTime() - policy.collectAfterDays * DAY_MS;
  const removed: Array<{ tenantId: string; sha256: string; modelVersionId: string | null }> = [];
  for (const { id: tenantId } of await d.db.select({ id: tenants.id }).from(tenants)) {
    const versions = await d.db.select().from(modelVersions).where(eq(modelVersions.tenantId, tenantId));
    versions.sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime() || (a.id < b.id ? 1 : -1));
    const kept = new Set(versions.slice(0, policy.keepLast).map((v) => v.id));
    // A digest stays while any version that is kept, not collectable, or too young points at it.
    const protectedDigests = new Set(
      versions
        .filter((v) => v.artifactSha256 && (kept.has(v.id) || CHAMPION_LINE.has(v.state) || !COLLECTABLE.has(v.state) || v.updatedAt.getTime() > cutoff))
        .map((v) => v.artifactSha256!),
    );
    const live = await d.db
      .select()
      .from(modelArtifacts)
      .where(and(eq(modelArtifacts.tenantId, tenantId as TenantId), isNull(modelArtifacts.deletedAt)));
    for (const a of live) {
      if (protectedDigests.has(a.sha256) || a.createdAt.getTime() > cutoff) continue;
      d.artifacts.remove(tenantId, a.sha256);
      await d.db.transaction(async (txRaw) => {
        const tx = txRaw as unknown as Db;
        await tx.update(modelArtifacts).set({ deletedAt: now }).where(and(eq(modelArtifacts.tenantId, tenantId), eq(modelArtifacts.sha256, a.sha256)));
        await d.audit.append(tx, {
          actor: RETRAIN_ACTOR,
          action: 'artifact.collected',
          subject: `tenant:${tenantId}`,
          payload: { tenantId, sha256: a.sha256, modelVersionId: a.modelVersionId, bytes: a.bytes, policy: { ...policy } },
        });
      });
      removed.push({ tenantId, sha256: a.sha256, modelVersionId: a.modelVersionId });
    }
  }
  return removed;
}

/** Runs the collection every `everyMs` (daily by default) on the injected clock; returns a stop function. */
export function scheduleRetention(
  d: Parameters<typeof collectArtifacts>[0] & { onError(err: unknown): void },
  everyMs = DAY_MS,
): () => void {
  let cancel: () => void = () => undefined;
  let stopped = false;
  const arm = () => {
    cancel = d.clock.setTimer(new Date(d.clock.now().getTime() + everyMs), () => {
      void collectArtifacts(d)
        .catch(d.onError)
        .finally(() => {
          if (!stopped) arm();
        });
    });
  };
  arm();
  return () => {
    stopped = true;
    cancel();
  };
}
