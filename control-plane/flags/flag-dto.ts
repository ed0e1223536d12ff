import type { FlagConfig } from '../../actors/flags/model';
import { FLAG_STAGES, stageName } from '../../actors/flags/model';
import type { FeatureFlagRow, FlagLedgerRow, FlagRunRow } from '../../db/schema/flags';

/** What an SDK receives for a flag. */
export function configOf(r: FeatureFlagRow): FlagConfig {
  return { key: r.key, stage: r.stage, killed: r.killed, audience: r.audience, dependencies: r.dependencies, profile: r.profile, defaultProfile: r.defaultProfile, version: r.version };
}

/** The JSON shape of a flag for operators. */
export function flagDto(r: FeatureFlagRow) {
  return {
    key: r.key,
    description: r.description,
    owner: r.owner,
    stage: r.stage,
    stageName: stageName(r.stage),
    stageLabel: FLAG_STAGES[r.stage]?.label ?? '',
    /** The stage's guidance on audience size (N ≲ 10, 30, 100) against the named users; null when within it or not applicable. */
    audienceWarning: audienceWarning(r),
    killed: r.killed,
    killReason: r.killReason,
    audience: r.audience,
    dependencies: r.dependencies,
    profile: r.profile,
    defaultProfile: r.defaultProfile,
    releaseNotes: r.releaseNotes,
    ownerApprovals: r.ownerApprovals,
    version: r.version,
    stageEnteredAt: r.stageEnteredAt.toISOString(),
    lastIncidentAt: r.lastIncidentAt?.toISOString() ?? null,
    /** When an edit changed the profile in this stage: only runs reported after it count towards leaving the stage; null: all of the stage's runs do. */
    evidenceSince: r.evidenceSince && r.evidenceSince >= r.stageEnteredAt ? r.evidenceSince.toISOString() : null,
    createdAt: r.createdAt.toISOString(),
    updatedAt: r.updatedAt.toISOString(),
  };
}
export type FlagDto = ReturnType<typeof flagDto>;

export function ledgerDto(r: FlagLedgerRow) {
  return {
    id: r.id,
    seq: r.seq,
    flagKey: r.flagKey,
    decision: r.decision,
    stageFrom: r.stageFrom,
    stageTo: r.stageTo,
    approver: r.approver,
    reason: r.reason,
    evidence: r.evidence,
    snapshot: r.snapshot,
    strategy: r.strategy,
    strategyHash: r.strategyHash,
    restorePoint: r.restorePoint,
    at: r.at.toISOString(),
  };
}
export type LedgerDto = ReturnType<typeof ledgerDto>;

export function runDto(r: FlagRunRow) {
  return { runId: r.runId, at: r.at.toISOString(), stage: r.stage, metrics: r.metrics };
}

function audienceWarning(r: FeatureFlagRow): string | null {
  const max = FLAG_STAGES[r.stage]?.maxSubjects ?? null;
  if (max === null || r.audience.users.length <= max) return null;
  return `${r.audience.users.length} named users is more than the ${max} that ${stageName(r.stage)} is meant for`;
}
