/**
 * Editing a flag's definition (`PATCH /api/v1/flags/:key`): description,
 * owner, audience, dependencies, profile and default profile — never the
 * stage, which moves only through the gates, a rollback, a kill or a restore.
 * One transaction: the row (version + 1), an `edit` ledger entry with what
 * changed (a green entry: a later kill re-pins to it), and its audit entry.
 */
import { eq, sql } from 'drizzle-orm';
import { FlagRefusedError, IllegalTransitionError, RevisionConflictError } from '../../actors/errors';
import { stageName, type Audience, type Profile } from '../../actors/flags/model';
import { actorOf, type Principal } from '../../actors/principal';
import type { Db } from '../../db/client';
import { featureFlags, flagRuns, type FeatureFlagRow } from '../../db/schema/flags';
import type { AuditLog } from '../audit/audit-store';
import { canonicalJson } from '../audit/format';
import { checkDependencies } from './dependency-check';
import { appendLedger } from './flag-ledger';
import { loadFlag } from './flag-store';

export interface EditFlagInput {
  /** The flag's `version` the edit was made against: a newer one is a 409. */
  expectedVersion: number;
  justification: string;
  description?: string;
  owner?: string;
  /** Merged into the current audience: the fields given replace theirs. */
  audience?: Partial<Audience>;
  dependencies?: string[];
  profile?: Profile;
  defaultProfile?: Profile;
}

export const EDITABLE_FIELDS = ['description', 'owner', 'audience', 'dependencies', 'profile', 'defaultProfile'] as const;
type Editable = (typeof EDITABLE_FIELDS)[number];

export interface EditOutcome {
  row: FeatureFlagRow;
  /** The fields that changed; empty for an edit that changes nothing (a replay), which writes nothing. */
  changed: Editable[];
  ledgerId: string | null;
}

export async function editInTransaction(tx: Db, audit: AuditLog, now: Date, key: string, input: EditFlagInput, by: Principal): Promise<EditOutcome> {
  const flag = await loadFlag(tx, key, true);
  if (flag.killed && input.profile) {
    throw new IllegalTransitionError(
      `flag ${key} is killed: it serves its default profile until a restore brings back the profile of its last green decision; restore it first (PUT /api/v1/flags/${key}/stage, at a lower stage to limit who gets it), then edit the profile`,
      { details: { field: 'profile' } },
    );
  }
  const before: Record<Editable, unknown> = {
    description: flag.description,
    owner: flag.owner,
    audience: flag.audience,
    dependencies: flag.dependencies,
    profile: flag.profile,
    defaultProfile: flag.defaultProfile,
  };
  const after: Record<Editable, unknown> = {
    description: input.description ?? flag.description,
    owner: input.owner ?? flag.owner,
    audience: input.audience ? { users: [...new Set(input.audience.users ?? flag.audience.users)], segments: [...new Set(input.audience.segments ?? flag.audience.segments)], percentage: input.audience.percentage ?? flag.audience.percentage } : flag.audience,
    dependencies: input.dependencies ? [...new Set(input.dependencies)] : flag.dependencies,
    profile: input.profile ?? flag.profile,
    defaultProfile: input.defaultProfile ?? flag.defaultProfile,
  };
  // A killed flag serves its default profile (its own comes back with a restore), so it follows an edited default.
  if (flag.killed) after.profile = after.defaultProfile;
  const changed = EDITABLE_FIELDS.filter((f) => canonicalJson(before[f]) !== canonicalJson(after[f]));
  // Asked again after it was applied (a replay), or nothing to change: answered as it stands, nothing written.
  if (!changed.length) return { row: flag, changed: [], ledgerId: null };
  if (input.expectedVersion !== flag.version) {
    throw new RevisionConflictError(`flag ${key} is at version ${flag.version}, not ${input.expectedVersion}: read it again and redo the edit`, { details: { expectedVersion: input.expectedVersion, version: flag.version } });
  }
  if (changed.includes('dependencies')) await checkNewDependencies(tx, flag, after.dependencies as string[]);

  // The runs so far measured the old profile: leaving the stage needs runs of the new one.
  const profileChanged = !flag.killed && changed.includes('profile');
  // Approvals and evidence were given for the old owner and profile: the next stage needs them again.
  const clearApprovals = profileChanged || changed.includes('owner');
  const ownerApprovals = clearApprovals ? Object.fromEntries(Object.entries(flag.ownerApprovals).filter(([stage]) => Number(stage) <= flag.stage)) : flag.ownerApprovals;
  const approvalsCleared = Object.keys(flag.ownerApprovals).filter((s) => !(s in ownerApprovals));
  const [updated] = await tx
    .update(featureFlags)
    .set({
      description: after.description as string,
      owner: after.owner as string,
      audience: after.audience as Audience,
      dependencies: after.dependencies as string[],
      profile: after.profile as Profile,
      defaultProfile: after.defaultProfile as Profile,
      ownerApprovals,
      version: flag.version + 1,
      updatedAt: now,
      ...(profileChanged ? { evidenceSince: now, evidenceAfterRun: await lastRunSeq(tx, key) } : {}),
    })
    .where(eq(featureFlags.key, key))
    .returning();
  const pick = (o: Record<Editable, unknown>) => Object.fromEntries(changed.map((f) => [f, o[f]]));
  const evidence = { justification: input.justification, changed, before: pick(before), after: pick(after), evidenceRestarted: profileChanged, ownerApprovalsCleared: approvalsCleared };
  const entry = await appendLedger(tx, updated!, { decision: 'edit', stageFrom: flag.stage, approver: actorOf(by), reason: input.justification, evidence, restorePoint: null, now });
  await audit.append(tx, {
    actor: actorOf(by),
    action: 'flag.edited',
    subject: `flag:${key}`,
    payload: { key, changed, version: updated!.version, ledgerId: entry.id, strategyHash: entry.strategyHash, justification: input.justification },
  });
  return { row: updated!, changed, ledgerId: entry.id };
}

/** The flag's latest run by arrival (0 when none): runs that arrive later measured the edited profile. */
async function lastRunSeq(tx: Db, key: string): Promise<number> {
  const [r] = await tx.select({ seq: sql<string | number | null>`max(${flagRuns.seq})` }).from(flagRuns).where(eq(flagRuns.flagKey, key));
  return Number(r?.seq ?? 0);
}

/**
 * Every flag's chains stay acyclic and short, and a dependency added to a
 * flag is already at the flag's stage and live: a flag switches after what
 * it depends on (as a promotion requires), and an edit must not switch it off.
 */
async function checkNewDependencies(tx: Db, flag: FeatureFlagRow, dependencies: string[]): Promise<void> {
  const all = await tx.select({ key: featureFlags.key, dependencies: featureFlags.dependencies, stage: featureFlags.stage, killed: featureFlags.killed }).from(featureFlags);
  checkDependencies(flag.key, dependencies, all.filter((f) => f.key !== flag.key));
  const added = dependencies.filter((d) => !flag.dependencies.includes(d));
  const notReady = all.filter((f) => added.includes(f.key) && (f.killed || f.stage < flag.stage)).map((f) => ({ key: f.key, stage: f.stage, killed: f.killed }));
  if (!notReady.length) return;
  throw new FlagRefusedError(
    'DEPENDENCY_NOT_READY',
    `flag ${flag.key} (stage ${flag.stage}, ${stageName(flag.stage)}) cannot depend on ${notReady.map((d) => (d.killed ? `${d.key} (killed)` : `${d.key} (stage ${d.stage})`)).join(', ')}: a dependency must be live and at the flag's stage or later`,
    { details: { field: 'dependencies', dependencies: notReady } },
  );
}
