import { sql } from 'drizzle-orm';
import { bigint, check, doublePrecision, index, pgTable, primaryKey, text, timestamp, uuid } from 'drizzle-orm/pg-core';
import type { ModelVersionId, TenantId } from './enums';

/**
 * Fencing tokens: one monotonic counter per lock key, bumped on every
 * acquire. A guarded write checks, in its own statement, that its token is
 * still the latest, so a holder that lost its lock cannot write.
 */
export const retrainFences = pgTable(
  'retrain_fences',
  {
    lockKey: text('lock_key').primaryKey(),
    token: bigint('token', { mode: 'number' }).notNull(),
    updatedAt: timestamp('updated_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  },
  () => [check('retrain_fences_token_positive', sql.raw('token >= 1'))],
);

/** Anti-oscillation: a feature signature that was just rolled back is not retrained until `until`. */
export const retrainBlacklist = pgTable(
  'retrain_blacklist',
  {
    tenantId: text('tenant_id').$type<TenantId>().notNull(),
    featureSignature: text('feature_signature').notNull(),
    until: timestamp('until', { withTimezone: true, mode: 'date' }).notNull(),
    reason: text('reason').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.featureSignature] })],
);

/**
 * Content-addressed artifacts: one row per (tenant, digest), with the
 * node's Ed25519 signature over the digest. `deleted_at` is set by the
 * retention job when the file is removed.
 */
export const modelArtifacts = pgTable(
  'model_artifacts',
  {
    tenantId: text('tenant_id').$type<TenantId>().notNull(),
    sha256: text('sha256').notNull(),
    modelVersionId: uuid('model_version_id').$type<ModelVersionId>(),
    bytes: bigint('bytes', { mode: 'number' }).notNull(),
    kid: text('kid').notNull(),
    signature: text('signature').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
    deletedAt: timestamp('deleted_at', { withTimezone: true, mode: 'date' }),
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.sha256] }),
    index('model_artifacts_model').on(t.modelVersionId),
    check('model_artifacts_sha256', sql.raw(`sha256 ~ '^[0-9a-f]{64}$'`)),
  ],
);

/** Finished (or failed) retrain jobs: the resource use quotas are counted from. */
export const retrainRuns = pgTable(
  'retrain_runs',
  {
    sagaId: uuid('saga_id').primaryKey(),
    tenantId: text('tenant_id').$type<TenantId>().notNull(),
    outcome: text('outcome').notNull(),
    seconds: doublePrecision('seconds').notNull().default(0),
    gpuHours: doublePrecision('gpu_hours').notNull().default(0),
    costUsd: doublePrecision('cost_usd').notNull().default(0),
    startedAt: timestamp('started_at', { withTimezone: true, mode: 'date' }).notNull(),
    finishedAt: timestamp('finished_at', { withTimezone: true, mode: 'date' }).notNull(),
  },
  (t) => [index('retrain_runs_tenant').on(t.tenantId, t.startedAt)],
);
