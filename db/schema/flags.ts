import { sql } from 'drizzle-orm';
import { bigint, bigserial, boolean, check, index, integer, jsonb, pgTable, smallint, text, timestamp, unique } from 'drizzle-orm/pg-core';
import type { Audience, FlagStage, Profile, RunMetrics } from '../../actors/flags/model';

/** Feature flags (issue #11): one row per flag, `version` +1 on every change (SDKs order updates by it). */
export const featureFlags = pgTable(
  'feature_flags',
  {
    key: text('key').primaryKey(),
    description: text('description').notNull(),
    owner: text('owner').notNull(),
    stage: smallint('stage').$type<FlagStage>().notNull().default(0),
    killed: boolean('killed').notNull().default(false),
    killReason: text('kill_reason'),
    audience: jsonb('audience').$type<Audience>().notNull(),
    dependencies: jsonb('dependencies').$type<string[]>().notNull().default([]),
    profile: jsonb('profile').$type<Profile>().notNull(),
    defaultProfile: jsonb('default_profile').$type<Profile>().notNull(),
    /** Release notes per target stage ("1": …). */
    releaseNotes: jsonb('release_notes').$type<Record<string, string>>().notNull().default({}),
    /** Owner approvals per target stage ("2": { by, at, justification }). */
    ownerApprovals: jsonb('owner_approvals').$type<Record<string, { by: string; at: string; justification: string }>>().notNull().default({}),
    version: integer('version').notNull().default(1),
    stageEnteredAt: timestamp('stage_entered_at', { withTimezone: true, mode: 'date' }).notNull(),
    lastIncidentAt: timestamp('last_incident_at', { withTimezone: true, mode: 'date' }),
    /** When an edit last changed the profile (shown; runs reported before it measured the old profile). */
    evidenceSince: timestamp('evidence_since', { withTimezone: true, mode: 'date' }),
    /** The flag's last run (`flag_runs.seq`) at that edit: only runs that arrived after it count towards leaving the stage. */
    evidenceAfterRun: bigint('evidence_after_run', { mode: 'number' }),
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull(),
    updatedAt: timestamp('updated_at', { withTimezone: true, mode: 'date' }).notNull(),
  },
  () => [
    check('feature_flags_key_format', sql.raw(`key ~ '^[a-z0-9][a-z0-9._-]{0,62}$'`)),
    check('feature_flags_stage_valid', sql.raw('stage between 0 and 4')),
    check('feature_flags_version_positive', sql.raw('version >= 1')),
  ],
);
export type FeatureFlagRow = typeof featureFlags.$inferSelect;

/** Gate metrics of one run of a flag; `run_id` is the caller's idempotency key. */
export const flagRuns = pgTable(
  'flag_runs',
  {
    /** Arrival order: runs reported at the same time keep it. */
    seq: bigserial('seq', { mode: 'number' }).primaryKey(),
    flagKey: text('flag_key').notNull().references(() => featureFlags.key),
    runId: text('run_id').notNull(),
    stage: smallint('stage').$type<FlagStage>().notNull(),
    at: timestamp('at', { withTimezone: true, mode: 'date' }).notNull(),
    metrics: jsonb('metrics').$type<RunMetrics>().notNull(),
  },
  (t) => [unique('flag_runs_flag_run').on(t.flagKey, t.runId), index('flag_runs_flag_at').on(t.flagKey, t.at), index('flag_runs_at').on(t.at)],
);
export type FlagRunRow = typeof flagRuns.$inferSelect;

export const FLAG_DECISIONS = ['create', 'promotion', 'rollback', 'kill', 'restore', 'edit'] as const;
export type FlagDecision = (typeof FLAG_DECISIONS)[number];

/**
 * The green ledger: every decision on a flag, append-only (the database
 * refuses UPDATE and DELETE). `id` is `dec-YYYYMMDD-<kind>-###`.
 */
export const flagLedger = pgTable(
  'flag_ledger',
  {
    seq: bigserial('seq', { mode: 'number' }).primaryKey(),
    id: text('id').notNull().unique('flag_ledger_id'),
    flagKey: text('flag_key').notNull().references(() => featureFlags.key),
    decision: text('decision').$type<FlagDecision>().notNull(),
    stageFrom: smallint('stage_from'),
    stageTo: smallint('stage_to').notNull(),
    approver: text('approver').notNull(),
    reason: text('reason').notNull(),
    evidence: jsonb('evidence').$type<Record<string, unknown>>().notNull(),
    /** Every flag's state at the decision (key, stage, killed, profile, percentage, version). */
    snapshot: jsonb('snapshot').$type<Array<Record<string, unknown>>>().notNull(),
    /** The flag's strategy after the decision (stage, audience, dependencies, profiles): restored from on a kill. */
    strategy: jsonb('strategy').$type<Record<string, unknown>>().notNull(),
    /** SHA-256 (hex) of the RFC 8785 canonical JSON of `strategy`. */
    strategyHash: text('strategy_hash').notNull(),
    /** A rollback's restore point: the ledger id it re-pinned to. */
    restorePoint: text('restore_point'),
    at: timestamp('at', { withTimezone: true, mode: 'date' }).notNull(),
  },
  (t) => [
    index('flag_ledger_flag').on(t.flagKey, t.seq),
    check('flag_ledger_decision_valid', sql.raw(`decision IN ('create','promotion','rollback','kill','restore','edit')`)),
    check('flag_ledger_id_format', sql.raw(`id ~ '^dec-[0-9]{8}-[a-z]+-[0-9]{3,}$'`)),
  ],
);
export type FlagLedgerRow = typeof flagLedger.$inferSelect;
