/**
 * The kill switch (ADMIN or the flag's owner, or the automatic triggers on a
 * reported run), and its transaction: off everywhere, the profile back to its
 * default, stage/audience/dependencies re-pinned to the last green ledger
 * entry (the last decision that is not a kill: an edit counts), a rollback
 * ledger entry with reason, impact and restore point, and its audit entry;
 * then the change to the SDKs and a P2 alert.
 */
import { and, desc, eq, sql } from 'drizzle-orm';
import type { Logger } from 'pino';
import { FlagRefusedError } from '../../actors/errors';
import type { Audience, FlagRun, FlagStage, RunMetrics } from '../../actors/flags/model';
import { firedTriggers, type Trigger } from '../../actors/flags/triggers';
import { roleAtLeast } from '../../actors/model-version/lifecycle';
import { actorOf, type Principal } from '../../actors/principal';
import type { Db } from '../../db/client';
import { featureFlags, flagLedger, type FeatureFlagRow } from '../../db/schema/flags';
import type { AlertInput } from '../alerts/raise-alert';
import type { AuditLog } from '../audit/audit-store';
import type { Bus } from '../ports/bus';
import type { Clock } from '../ports/clock';
import { refuseAuth } from './flag-auth';
import { publishFlagChange } from './flag-changes';
import { flagDto, type FlagDto } from './flag-dto';
import { GREEN_DECISIONS, appendLedger } from './flag-ledger';
import { inTransaction, loadFlag } from './flag-store';

/** The system principal that automatic triggers kill as. */
export const TRIGGER_PRINCIPAL: Principal = { kind: 'system', name: 'flag-triggers', role: 'ADMIN' };

export interface KillSwitchDeps {
  db: Db;
  audit: AuditLog;
  clock: Clock;
  bus: Bus;
  prefix: string;
  log: Logger;
  alert?: (input: AlertInput) => Promise<unknown>;
}

/**
 * The kill switch (ADMIN or the flag's owner): off everywhere, the profile
 * back to its default, the strategy re-pinned to the last green ledger
 * entry, a rollback ledger entry (`dec-YYYYMMDD-rollback-###`) with reason,
 * impact and restore point, audited; connected SDKs are told at once.
 */
export async function killFlag(
  deps: KillSwitchDeps,
  key: string,
  input: { reason: string },
  by: Principal,
  automatic?: { triggers: Trigger[]; runId: string },
): Promise<FlagDto & { ledgerId: string; restorePoint: string | null; impact: Record<string, unknown> }> {
  const owner = (await loadFlag(deps.db, key)).owner;
  if (!roleAtLeast(by.role, 'ADMIN') && by.name !== owner) {
    await refuseAuth(deps.db, deps.audit, by, `killing flag ${key}`, `flag:${key}`, `killing flag ${key} needs the ADMIN role or its owner (${owner}); ${by.name} is ${by.role}`);
  }
  const result = await inTransaction(deps.db, deps.clock, (tx, now) => killInTransaction(tx, deps.audit, now, key, input.reason, by, automatic));
  publishFlagChange(deps.bus, deps.prefix, deps.log, result.row);
  await deps.alert?.({
    tenantId: null,
    severity: 'P2',
    kind: 'flag.killed',
    dedupeKey: `flag-kill:${result.ledgerId}`,
    message: `Feature flag ${key} was killed${automatic ? ' automatically' : ` by ${by.name}`}: ${input.reason}`,
    details: { key, ledgerId: result.ledgerId, restorePoint: result.restorePoint, by: actorOf(by) },
  }).catch((err: unknown) => deps.log.warn({ err, key }, 'raising the flag-kill alert failed'));
  return { ...flagDto(result.row), ledgerId: result.ledgerId, restorePoint: result.restorePoint, impact: result.impact };
}

/**
 * The automatic triggers on a newly reported run (against the previous runs
 * at the stage): a fired trigger kills the flag as `system:flag-triggers`,
 * the triggers in the ledger evidence. A flag killed meanwhile stays as it is.
 */
export async function killOnTriggers(deps: KillSwitchDeps, key: string, runId: string, metrics: RunMetrics, previous: FlagRun[]): Promise<{ triggers: Trigger[]; killed: string | null }> {
  const triggers = firedTriggers(metrics, previous);
  if (!triggers.length) return { triggers, killed: null };
  const reason = `automatic: ${triggers.map((t) => t.reason).join('; ')} (run ${runId})`;
  try {
    return { triggers, killed: (await killFlag(deps, key, { reason }, TRIGGER_PRINCIPAL, { triggers, runId })).ledgerId };
  } catch (err) {
    if (!(err instanceof FlagRefusedError && err.code === 'ALREADY_KILLED')) throw err;
    return { triggers, killed: null };
  }
}

export interface KillOutcome {
  row: FeatureFlagRow;
  ledgerId: string;
  restorePoint: string | null;
  impact: Record<string, unknown>;
}

export async function killInTransaction(
  tx: Db,
  audit: AuditLog,
  now: Date,
  key: string,
  reason: string,
  by: Principal,
  automatic?: { triggers: Trigger[]; runId: string },
): Promise<KillOutcome> {
  const flag = await loadFlag(tx, key, true);
  if (flag.killed) throw new FlagRefusedError('ALREADY_KILLED', `flag ${key} is already killed (${flag.killReason ?? 'no reason recorded'}); restore it with PUT /api/v1/flags/${key}/stage`);
  const [green] = await tx
    .select()
    .from(flagLedger)
    .where(and(eq(flagLedger.flagKey, key), sql`${flagLedger.decision} in ${GREEN_DECISIONS}`))
    .orderBy(desc(flagLedger.seq))
    .limit(1);
  const pinned = (green?.strategy ?? {}) as Partial<{ stage: FlagStage; audience: Audience; dependencies: string[] }>;
  const all = await tx.select().from(featureFlags);
  const dependents = all.filter((f) => f.dependencies.includes(key)).map((f) => f.key);
  const stageAfter = pinned.stage ?? flag.stage;
  const impact = {
    stageBefore: flag.stage,
    stageAfter,
    wasOnFor: flag.stage === 4 ? 'everyone' : flag.stage === 3 ? `${flag.audience.percentage} % of subjects (not opted out) plus listed users and segments` : `listed users (${flag.audience.users.length}), segments (${flag.audience.segments.join(', ') || 'none'})${flag.stage >= 2 ? ' and opted-in subjects' : ''}`,
    dependentsOff: dependents,
    profileReset: { from: flag.profile.name, to: flag.defaultProfile.name },
  };
  const [updated] = await tx
    .update(featureFlags)
    .set({
      killed: true,
      killReason: reason,
      stage: stageAfter,
      audience: pinned.audience ?? flag.audience,
      dependencies: pinned.dependencies ?? flag.dependencies,
      profile: flag.defaultProfile,
      version: flag.version + 1,
      lastIncidentAt: now,
      updatedAt: now,
      ...(stageAfter !== flag.stage ? { stageEnteredAt: now } : {}),
    })
    .where(eq(featureFlags.key, key))
    .returning();
  const evidence = { impact, ...(automatic ? { automatic: true, triggers: automatic.triggers, runId: automatic.runId } : { automatic: false }) };
  const entry = await appendLedger(tx, updated!, { decision: 'kill', stageFrom: flag.stage, approver: actorOf(by), reason, evidence, restorePoint: green?.id ?? null, now });
  await audit.append(tx, { actor: actorOf(by), action: 'flag.killed', subject: `flag:${key}`, payload: { key, reason, ledgerId: entry.id, restorePoint: green?.id ?? null, strategyHash: entry.strategyHash, impact, automatic: !!automatic } });
  return { row: updated!, ledgerId: entry.id, restorePoint: green?.id ?? null, impact };
}
