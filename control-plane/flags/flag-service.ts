/**
 * Feature flags (issue #11): the store of flags and runs, creation and
 * edits, stage changes through the gates and the Go/No-Go checklist, and the
 * reads the console and SDKs need. The ledger is `flag-ledger.ts`, the kill
 * switch and its automatic triggers `kill-switch.ts`, edits `flag-edit.ts`,
 * change notifications on the bus (`<prefix>.flags.changed`, one message per
 * new flag version, forwarded to connected SDKs by every node's live
 * namespace) `flag-changes.ts`.
 */
import { and, asc, desc, eq } from 'drizzle-orm';
import type { Logger } from 'pino';
import { AlreadyExistsError, BadRequestError, IdempotencyConflictError, IllegalTransitionError } from '../../actors/errors';
import { FlagSet, type Evaluation } from '../../actors/flags/evaluate';
import { evaluateGates, failingGates } from '../../actors/flags/gates';
import { stageName, type Audience, type FlagConfig, type FlagRun, type FlagStage, type Profile, type RunMetrics, type Subject } from '../../actors/flags/model';
import type { DailyFlagReport } from '../../actors/flags/report';
import type { Trigger } from '../../actors/flags/triggers';
import { actorOf, type Principal } from '../../actors/principal';
import type { Db } from '../../db/client';
import { featureFlags, flagRuns, type FeatureFlagRow } from '../../db/schema/flags';
import type { AlertInput } from '../alerts/raise-alert';
import type { AuditLog } from '../audit/audit-store';
import { canonicalJson } from '../audit/format';
import { UNIQUE_VIOLATION, pgErrorCode } from '../db-errors';
import type { Bus } from '../ports/bus';
import type { Clock } from '../ports/clock';
import { checkDependencies } from './dependency-check';
import { refuseAuth, requireRole } from './flag-auth';
import { publishFlagChange } from './flag-changes';
import { configOf, flagDto, runDto, type FlagDto, type LedgerDto } from './flag-dto';
import { editInTransaction, type EditFlagInput } from './flag-edit';
import { dailyRunsReport } from './daily-report';
import { appendLedger, listLedger, recentLedger } from './flag-ledger';
import { inTransaction, loadFlag, stageRuns } from './flag-store';
import { killFlag, killOnTriggers } from './kill-switch';
import { changeStageInTransaction, checklistFor } from './stage-change';

export { flagsChangedSubject, type FlagChange } from './flag-changes';
export { TRIGGER_PRINCIPAL } from './kill-switch';

export interface FlagServiceDeps {
  db: Db;
  audit: AuditLog;
  clock: Clock;
  bus: Bus;
  prefix: string;
  log: Logger;
  alert?: (input: AlertInput) => Promise<unknown>;
}

export interface CreateFlagInput {
  key: string;
  description: string;
  owner: string;
  audience?: Partial<Audience>;
  dependencies?: string[];
  profile: Profile;
  defaultProfile: Profile;
  releaseNotes?: Record<string, string>;
}

type Tx = Db;

export class FlagService {
  constructor(private readonly deps: FlagServiceDeps) {}

  private get db() {
    return this.deps.db;
  }

  // ---- reads

  async list(): Promise<FlagDto[]> {
    return (await this.db.select().from(featureFlags).orderBy(asc(featureFlags.key))).map(flagDto);
  }

  /** Every flag as SDKs see it. */
  async configs(): Promise<FlagConfig[]> {
    return (await this.db.select().from(featureFlags).orderBy(asc(featureFlags.key))).map(configOf);
  }

  /** Every flag for one subject, with its value and reason. */
  async evaluate(subject: Subject): Promise<Evaluation[]> {
    return FlagSet.of(await this.configs()).evaluateAll(subject);
  }

  /** A flag with what the console shows: gates and checklist for the next stage, recent runs, its ledger. */
  async get(key: string) {
    const row = await loadFlag(this.db, key);
    const runs = await stageRuns(this.db, row);
    const at = this.deps.clock.now().toISOString();
    const gates = evaluateGates({ runs, profile: row.profile, lastIncidentAt: row.lastIncidentAt?.toISOString() ?? null, at });
    const next = Math.min(row.stage + 1, 4) as FlagStage;
    const items = row.stage < 4 ? checklistFor(row, next, runs, gates) : [];
    const recent = await this.db.select().from(flagRuns).where(eq(flagRuns.flagKey, key)).orderBy(desc(flagRuns.at), desc(flagRuns.seq)).limit(20);
    const ledger = await recentLedger(this.db, key, 50);
    return {
      ...flagDto(row),
      nextStage: row.stage < 4 ? { stage: next, name: stageName(next), gates, checklist: items, go: !row.killed && failingGates(gates).length === 0 && items.every((i) => i.done) } : null,
      runs: recent.map(runDto),
      ledger,
    };
  }

  ledger(opts: { key?: string; limit: number; after?: number }): Promise<LedgerDto[]> {
    return listLedger(this.db, opts);
  }

  /** Runs of one UTC day, per flag: pass rate, score, latency, vetoed share, top-3 issues. */
  dailyReport(day: string = this.deps.clock.now().toISOString().slice(0, 10)): Promise<{ day: string; items: DailyFlagReport[] }> {
    return dailyRunsReport(this.db, day);
  }

  // ---- decisions

  /** A new flag at stage 0 (MANAGER); its creation is the first green ledger entry. */
  async create(input: CreateFlagInput, by: Principal): Promise<FlagDto> {
    await this.requireRole(by, 'MANAGER', 'creating a feature flag', `flag:${input.key}`);
    const audience: Audience = { users: [...new Set(input.audience?.users ?? [])], segments: [...new Set(input.audience?.segments ?? [])], percentage: input.audience?.percentage ?? 100 };
    const dependencies = [...new Set(input.dependencies ?? [])];
    if (dependencies.includes(input.key)) throw new BadRequestError(`dependencies: flag ${input.key} cannot depend on itself`, { details: { field: 'dependencies' } });
    try {
      const row = await this.decide(async (tx, now) => {
        checkDependencies(input.key, dependencies, await tx.select({ key: featureFlags.key, dependencies: featureFlags.dependencies }).from(featureFlags));
        const [created] = await tx
          .insert(featureFlags)
          .values({ key: input.key, description: input.description, owner: input.owner, stage: 0, audience, dependencies, profile: input.profile, defaultProfile: input.defaultProfile, releaseNotes: input.releaseNotes ?? {}, version: 1, stageEnteredAt: now, createdAt: now, updatedAt: now })
          .returning();
        const entry = await appendLedger(tx, created!, { decision: 'create', stageFrom: null, approver: actorOf(by), reason: input.description, evidence: {}, restorePoint: null, now });
        await this.deps.audit.append(tx, { actor: actorOf(by), action: 'flag.created', subject: `flag:${input.key}`, payload: { key: input.key, owner: input.owner, ledgerId: entry.id, strategyHash: entry.strategyHash } });
        return created!;
      });
      return flagDto(row);
    } catch (err) {
      if (pgErrorCode(err) === UNIQUE_VIOLATION && (await this.exists(input.key))) throw new AlreadyExistsError(`flag ${input.key} already exists`);
      throw err;
    }
  }

  /**
   * Edits a flag's definition (MANAGER): description, owner, audience,
   * dependencies, profiles — not its stage. Against `expectedVersion` (409
   * when the flag moved on); an edit that changes nothing writes nothing.
   * Connected SDKs get the new version at once.
   */
  async edit(key: string, input: EditFlagInput, by: Principal): Promise<FlagDto & { ledgerId: string | null; changed: string[] }> {
    await this.requireRole(by, 'MANAGER', 'editing a feature flag', `flag:${key}`);
    const result = await this.decide((tx, now) => editInTransaction(tx, this.deps.audit, now, key, input, by));
    if (result.changed.length) this.publish(result.row);
    return { ...flagDto(result.row), ledgerId: result.ledgerId, changed: result.changed };
  }

  /** The owner's Go for the next stage, with release notes (the owner only). */
  async approve(key: string, input: { stage: number; justification: string; releaseNotes?: string }, by: Principal): Promise<FlagDto> {
    // Authorization outside the transaction: the embedded database has one connection.
    const owner = (await loadFlag(this.db, key)).owner;
    if (by.name !== owner) await this.refuseAuth(by, `approving flag ${key} as its owner`, `flag:${key}`, `only the owner (${owner}) approves a stage of flag ${key}`);
    const row = await this.decide(async (tx, now) => {
      const flag = await loadFlag(tx, key, true);
      if (input.stage !== flag.stage + 1) throw new IllegalTransitionError(`flag ${key} is at stage ${flag.stage}; the owner approves the next stage (${flag.stage + 1}), not ${input.stage}`);
      const approval = { by: actorOf(by), at: now.toISOString(), justification: input.justification };
      const [updated] = await tx
        .update(featureFlags)
        .set({
          ownerApprovals: { ...flag.ownerApprovals, [String(input.stage)]: approval },
          releaseNotes: input.releaseNotes ? { ...flag.releaseNotes, [String(input.stage)]: input.releaseNotes } : flag.releaseNotes,
          updatedAt: now,
        })
        .where(eq(featureFlags.key, key))
        .returning();
      await this.deps.audit.append(tx, { actor: actorOf(by), action: 'flag.owner-approved', subject: `flag:${key}`, payload: { key, stage: input.stage, justification: input.justification, releaseNotes: !!input.releaseNotes } });
      return updated!;
    });
    return flagDto(row);
  }

  /**
   * Moves a flag to another stage (MANAGER). Forward: the next stage only,
   * with every gate and checklist item (refusals 409 naming the failing gate
   * with its numbers, audited); backward: a manual rollback; on a killed
   * flag: a restore at its stage or lower.
   */
  async setStage(key: string, input: { stage: number; justification: string; releaseNotes?: string }, by: Principal): Promise<FlagDto & { ledgerId: string }> {
    await this.requireRole(by, 'MANAGER', 'changing the stage of a feature flag', `flag:${key}`);
    const result = await this.decide((tx, now) => changeStageInTransaction(tx, this.deps.audit, now, key, input, by));
    if ('refusal' in result) {
      const err = result.refusal;
      await this.deps.audit.append(this.db, { actor: actorOf(by), action: 'flag.stage.refused', subject: `flag:${key}`, payload: { key, to: input.stage, code: err.code, message: err.message } });
      throw err;
    }
    this.publish(result.row);
    return { ...flagDto(result.row), ledgerId: result.ledgerId };
  }

  /**
   * Records one run's gate metrics (MANAGER; `runId` is idempotent), then
   * checks the automatic triggers: a fired trigger kills the flag.
   */
  async recordRun(key: string, input: { runId: string; at?: string } & RunMetrics, by: Principal): Promise<{ run: ReturnType<typeof runDto>; duplicate: boolean; triggers: Trigger[]; killed: string | null }> {
    await this.requireRole(by, 'MANAGER', 'reporting a flag run', `flag:${key}`);
    const { runId, at: reportedAt, ...metrics } = input;
    const outcome = await this.decide(async (tx, now) => {
      const flag = await loadFlag(tx, key, true);
      const [existing] = await tx.select().from(flagRuns).where(and(eq(flagRuns.flagKey, key), eq(flagRuns.runId, runId))).limit(1);
      if (existing) {
        if (canonicalJson(existing.metrics) !== canonicalJson(metrics)) throw new IdempotencyConflictError(`run ${runId} of flag ${key} was already reported with other metrics`);
        return { run: existing, duplicate: true, previous: [] as FlagRun[], flag };
      }
      const previous = await stageRuns(tx, flag);
      const at = reportedAt ? new Date(reportedAt) : now;
      if (at.getTime() > now.getTime() + 300_000) throw new BadRequestError(`at: ${reportedAt} is in the future`);
      const [run] = await tx.insert(flagRuns).values({ flagKey: key, runId, stage: flag.stage, at, metrics }).returning();
      if (metrics.incidents > 0) await tx.update(featureFlags).set({ lastIncidentAt: now, updatedAt: now }).where(eq(featureFlags.key, key));
      await this.deps.audit.append(tx, { actor: actorOf(by), action: 'flag.run.recorded', subject: `flag:${key}`, payload: { key, runId, stage: flag.stage, incidents: metrics.incidents, userBlockingReports: metrics.userBlockingReports } });
      return { run: run!, duplicate: false, previous, flag };
    });
    const { triggers, killed } = !outcome.duplicate && !outcome.flag.killed ? await killOnTriggers(this.deps, key, runId, metrics, outcome.previous) : { triggers: [], killed: null };
    return { run: runDto(outcome.run), duplicate: outcome.duplicate, triggers, killed };
  }

  /** The kill switch (ADMIN or the flag's owner): see `kill-switch.ts`. */
  kill(key: string, input: { reason: string }, by: Principal, automatic?: { triggers: Trigger[]; runId: string }): Promise<FlagDto & { ledgerId: string; restorePoint: string | null; impact: Record<string, unknown> }> {
    return killFlag(this.deps, key, input, by, automatic);
  }

  // ---- helpers

  private decide<T>(fn: (tx: Tx, now: Date) => Promise<T>): Promise<T> {
    return inTransaction(this.db, this.deps.clock, fn);
  }

  private async exists(key: string): Promise<boolean> {
    const [r] = await this.db.select({ key: featureFlags.key }).from(featureFlags).where(eq(featureFlags.key, key)).limit(1);
    return !!r;
  }

  private publish(row: FeatureFlagRow): void {
    publishFlagChange(this.deps.bus, this.deps.prefix, this.deps.log, row);
  }

  private requireRole(by: Principal, needed: 'MANAGER' | 'ADMIN', what: string, subject: string): Promise<void> {
    return requireRole(this.db, this.deps.audit, by, needed, what, subject);
  }

  private refuseAuth(by: Principal, what: string, subject: string, message: string): Promise<never> {
    return refuseAuth(this.db, this.deps.audit, by, what, subject, message);
  }
}
