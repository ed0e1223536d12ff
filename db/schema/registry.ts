import { sql } from 'drizzle-orm';
import {
  doublePrecision,
  bigserial,
  boolean,
  check,
  index,
  integer,
  jsonb,
  pgTable,
  text,
  timestamp,
  unique,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core';
import {
  CANARY_VERDICTS,
  MODEL_STATES,
  ROLES,
  TENANT_STAGES,
  sqlList,
  type CanaryVerdict,
  type ModelState,
  type ModelVersionId,
  type Role,
  type TenantId,
  type TenantStage,
} from './enums';

/** How a tenant's canaries roll out. */
export interface RolloutPolicy {
  /** Traffic percent of each canary wave (default 1, 10, 50). */
  waves?: number[];
  /** Evaluations a shadow runs before it may become a canary (default 3). */
  shadowCycles?: number;
  /** While a canary's traffic is at most `restrictedUntilPercent`, only these segments reach it. */
  restrictedSegments?: string[];
  restrictedUntilPercent?: number;
}

/** What CONTROLLED_AUTONOMY may do without a person. */
export interface RiskMatrix {
  /** Waves above this traffic share are skipped (default 50). */
  maxTrafficPercent?: number;
  /** A wave passes only if the canary's relative MAE change is at most this (default 0: no worse). */
  maxRelativeMaeDelta?: number;
  /** Labelled samples per arm before a canary may pass (default 1,000; never fewer). */
  minSamplesPerArm?: number;
  /** At most one automatic promotion in this many days (default 7). */
  minDaysBetweenPromotions?: number;
}

/** What a tenant's predictions are worth: the money the ROI figures are counted in (MANAGER sets it). */
export interface TenantEconomics {
  /** US dollars lost per prediction per unit of absolute error (in the unit the model predicts, e.g. t/ha). */
  valuePerErrorUnitUsd: number;
  /** What that unit is, in words (shown next to the figure), e.g. "t/ha of yield". */
  unit: string;
}

export const tenants = pgTable(
  'tenants',
  {
    id: text('id').$type<TenantId>().primaryKey(),
    name: text('name').notNull(),
    stage: text('stage').$type<TenantStage>().notNull().default('SHADOW_MODE'),
    championId: uuid('champion_id').$type<ModelVersionId>(),
    forensicLock: boolean('forensic_lock').notNull().default(false),
    forensicLockReason: text('forensic_lock_reason'),
    /** Segments never sent to a canary (business-critical traffic). */
    criticalSegments: text('critical_segments').array().notNull().default(sql`'{}'::text[]`),
    /** Canary waves and restricted segments (MANAGER): see RolloutPolicy. */
    rolloutPolicy: jsonb('rollout_policy').$type<RolloutPolicy>().notNull().default({}),
    /** Limits of automatic promotion in CONTROLLED_AUTONOMY (governance-locked): see RiskMatrix. */
    riskMatrix: jsonb('risk_matrix').$type<RiskMatrix>().notNull().default({}),
    /** The value of accuracy, for ROI (null until a MANAGER sets it): see TenantEconomics. */
    economics: jsonb('economics').$type<TenantEconomics>(),
    revision: integer('revision').notNull().default(0),
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  },
  (t) => [
    check('tenants_id_format', sql.raw(`id ~ '^[a-z0-9][a-z0-9-]{0,62}$'`)),
    check('tenants_stage_valid', sql.raw(`stage IN ${sqlList(TENANT_STAGES)}`)),
    check('tenants_name_nonempty', sql`length(${t.name}) between 1 and 200`),
  ],
);

export const modelVersions = pgTable(
  'model_versions',
  {
    id: uuid('id').$type<ModelVersionId>().primaryKey(),
    tenantId: text('tenant_id')
      .$type<TenantId>()
      .notNull()
      .references(() => tenants.id),
    label: text('label').notNull(),
    owner: text('owner'),
    featureSignature: text('feature_signature').notNull(),
    artifactSha256: text('artifact_sha256'),
    parentId: uuid('parent_id').$type<ModelVersionId>(),
    previousStableId: uuid('previous_stable_id').$type<ModelVersionId>(),
    state: text('state').$type<ModelState>().notNull().default('DRAFT'),
    canaryVerdict: text('canary_verdict').$type<CanaryVerdict>(),
    /** Share of the tenant's traffic a CANARY receives, in percent (0 = none). */
    canaryTrafficPercent: doublePrecision('canary_traffic_percent').notNull().default(0),
    revision: integer('revision').notNull().default(0),
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  },
  (t) => [
    unique('model_versions_tenant_label').on(t.tenantId, t.label),
    // At most one CHAMPION per tenant, whatever the code does.
    uniqueIndex('model_versions_one_champion').on(t.tenantId).where(sql.raw(`state = 'CHAMPION'`)),
    index('model_versions_tenant').on(t.tenantId, t.id),
    check('model_versions_state_valid', sql.raw(`state IN ${sqlList(MODEL_STATES)}`)),
    check(
      'model_versions_canary_verdict_valid',
      sql.raw(`canary_verdict IS NULL OR canary_verdict IN ${sqlList(CANARY_VERDICTS)}`),
    ),
    check('model_versions_canary_traffic', sql.raw('canary_traffic_percent >= 0 AND canary_traffic_percent <= 100')),
    check('model_versions_artifact_sha256', sql.raw(`artifact_sha256 IS NULL OR artifact_sha256 ~ '^[0-9a-f]{64}$'`)),
    check('model_versions_revision_nonneg', sql.raw('revision >= 0')),
  ],
);

export const transitions = pgTable(
  'transitions',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    modelVersionId: uuid('model_version_id')
      .$type<ModelVersionId>()
      .notNull()
      .references(() => modelVersions.id),
    fromState: text('from_state').$type<ModelState>().notNull(),
    toState: text('to_state').$type<ModelState>().notNull(),
    reason: text('reason').notNull(),
    actor: text('actor').notNull(),
    idempotencyKey: text('idempotency_key').notNull(),
    requestDigest: text('request_digest').notNull(),
    revisionAfter: integer('revision_after').notNull(),
    result: jsonb('result').notNull(),
    at: timestamp('at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  },
  (t) => [
    unique('transitions_idempotency').on(t.modelVersionId, t.idempotencyKey),
    check('transitions_from_valid', sql.raw(`from_state IN ${sqlList(MODEL_STATES)}`)),
    check('transitions_to_valid', sql.raw(`to_state IN ${sqlList(MODEL_STATES)}`)),
  ],
);

export const approvals = pgTable(
  'approvals',
  {
    id: uuid('id').primaryKey(),
    modelVersionId: uuid('model_version_id')
      .$type<ModelVersionId>()
      .notNull()
      .references(() => modelVersions.id),
    approver: text('approver').notNull(),
    role: text('role').$type<Role>().notNull(),
    decision: text('decision').$type<'approve' | 'reject'>().notNull(),
    justification: text('justification').notNull(),
    at: timestamp('at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  },
  (t) => [
    index('approvals_model').on(t.modelVersionId),
    check('approvals_decision_valid', sql.raw(`decision IN ('approve','reject')`)),
    check('approvals_role_valid', sql.raw(`role IN ${sqlList(ROLES)}`)),
    check('approvals_justification_nonempty', sql`length(${t.justification}) > 0`),
  ],
);

export type TenantRow = typeof tenants.$inferSelect;
export type ModelVersionRow = typeof modelVersions.$inferSelect;
export type TransitionRow = typeof transitions.$inferSelect;
export type ApprovalRow = typeof approvals.$inferSelect;
