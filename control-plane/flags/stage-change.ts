/**
 * A stage change's transaction: forward one stage through the gates, the
 * Go/No-Go checklist and the dependencies; backward as a manual rollback; a
 * killed flag restored at its stage or lower with the profile of its last
 * green decision. A refusal is returned (nothing written; the caller audits
 * it), a decision is a ledger entry and its audit entry.
 */
import { eq, sql } from 'drizzle-orm';
import { FlagRefusedError, IllegalTransitionError } from '../../actors/errors';
import { checklist, decideStageChange, type ChecklistItem } from '../../actors/flags/checklist';
import { GATE_RUNS, evaluateGates, type GateResult } from '../../actors/flags/gates';
import type { FlagRun, FlagStage } from '../../actors/flags/model';
import { actorOf, type Principal } from '../../actors/principal';
import type { Db } from '../../db/client';
import { featureFlags, type FeatureFlagRow } from '../../db/schema/flags';
import type { AuditLog } from '../audit/audit-store';
import { appendLedger, lastGreenProfile } from './flag-ledger';
import { loadFlag, stageRuns } from './flag-store';

/** Decides and records a stage change of `key` inside `tx`, or returns why it is refused. */
export async function changeStageInTransaction(
  tx: Db,
  audit: AuditLog,
  now: Date,
  key: string,
  input: { stage: number; justification: string; releaseNotes?: string },
  by: Principal,
): Promise<{ refusal: FlagRefusedError | IllegalTransitionError } | { row: FeatureFlagRow; ledgerId: string }> {
  const flag = await loadFlag(tx, key, true);
  const runs = await stageRuns(tx, flag);
  const gates = evaluateGates({ runs, profile: flag.profile, lastIncidentAt: flag.lastIncidentAt?.toISOString() ?? null, at: now.toISOString() });
  const target = input.stage as FlagStage;
  const notes = input.releaseNotes ?? flag.releaseNotes[String(target)] ?? null;
  const items = checklistFor(flag, target, runs, gates, by.name, notes);
  const deps = flag.dependencies.length ? await tx.select().from(featureFlags).where(sql`${featureFlags.key} in ${flag.dependencies}`) : [];
  const depState = flag.dependencies.map((d) => {
    const f = deps.find((x) => x.key === d);
    return { key: d, stage: f?.stage ?? null, killed: f?.killed ?? false };
  });
  const decision = decideStageChange({ key, from: flag.stage, to: input.stage, killed: flag.killed, gates, items, dependencies: depState });
  if (!decision.ok) {
    const r = decision.refusal;
    const details = { from: flag.stage, to: input.stage, ...('gates' in r ? { gates: r.gates } : {}), ...('items' in r ? { checklist: r.items } : {}), ...('dependencies' in r ? { dependencies: r.dependencies } : {}) };
    return { refusal: r.code === 'ILLEGAL_TRANSITION' ? new IllegalTransitionError(r.message, { details }) : new FlagRefusedError(r.code, r.message, { details }) };
  }
  // A restore brings back the profile of the last green decision (the kill had reset it to the default).
  const restoredProfile = decision.kind === 'restore' ? await lastGreenProfile(tx, key) : null;
  const [updated] = await tx
    .update(featureFlags)
    .set({
      ...(restoredProfile ? { profile: restoredProfile } : {}),
      stage: target,
      killed: false,
      killReason: null,
      version: flag.version + 1,
      stageEnteredAt: now,
      updatedAt: now,
      releaseNotes: input.releaseNotes ? { ...flag.releaseNotes, [String(target)]: input.releaseNotes } : flag.releaseNotes,
    })
    .where(eq(featureFlags.key, key))
    .returning();
  const evidence = {
    justification: input.justification,
    gates,
    checklist: items,
    runs: runs.slice(-GATE_RUNS).map((r) => r.runId),
    ownerApproval: flag.ownerApprovals[String(target)] ?? null,
    releaseNotes: notes,
  };
  const entry = await appendLedger(tx, updated!, { decision: decision.kind, stageFrom: flag.stage, approver: actorOf(by), reason: input.justification, evidence, restorePoint: null, now });
  await audit.append(tx, {
    actor: actorOf(by),
    action: decision.kind === 'promotion' ? 'flag.promoted' : decision.kind === 'restore' ? 'flag.restored' : 'flag.rolled-back',
    subject: `flag:${key}`,
    payload: { key, from: flag.stage, to: target, justification: input.justification, ledgerId: entry.id, strategyHash: entry.strategyHash },
  });
  return { row: updated!, ledgerId: entry.id };
}

/** The Go/No-Go checklist of `flag` for `target` (the owner promoting approves by doing it). */
export function checklistFor(flag: FeatureFlagRow, target: FlagStage, runs: FlagRun[], gates: GateResult[], promoter?: string, notes?: string | null): ChecklistItem[] {
  const approval = flag.ownerApprovals[String(target)];
  return checklist({
    targetStage: target,
    owner: flag.owner,
    runs,
    gates,
    releaseNotes: notes === undefined ? (flag.releaseNotes[String(target)] ?? null) : notes,
    ownerApproval: approval ? { by: approval.by, at: approval.at } : null,
    ...(promoter ? { promoter } : {}),
  });
}
