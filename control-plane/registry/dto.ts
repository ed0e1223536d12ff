import type { ModelVersionRow, TenantRow } from '../../db/schema';

/** The JSON shape of a tenant in the API. */
export function tenantDto(row: TenantRow) {
  return {
    id: row.id,
    name: row.name,
    stage: row.stage,
    championId: row.championId,
    forensicLock: row.forensicLock,
    forensicLockReason: row.forensicLockReason,
    criticalSegments: row.criticalSegments,
    rolloutPolicy: row.rolloutPolicy,
    riskMatrix: row.riskMatrix,
    economics: row.economics ?? null,
    revision: row.revision,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}
export type TenantDto = ReturnType<typeof tenantDto>;

/** The JSON shape of a model version in the API (also stored as a transition's result). */
export function modelDto(row: ModelVersionRow) {
  return {
    id: row.id,
    tenantId: row.tenantId,
    label: row.label,
    owner: row.owner,
    featureSignature: row.featureSignature,
    artifactSha256: row.artifactSha256,
    parentId: row.parentId,
    previousStableId: row.previousStableId,
    state: row.state,
    canaryVerdict: row.canaryVerdict,
    canaryTrafficPercent: row.canaryTrafficPercent,
    revision: row.revision,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}
export type ModelDto = ReturnType<typeof modelDto>;
