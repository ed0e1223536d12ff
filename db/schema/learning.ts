import { sql } from 'drizzle-orm';
import {
  bigserial,
  boolean,
  check,
  date,
  doublePrecision,
  index,
  integer,
  jsonb,
  pgTable,
  text,
  timestamp,
  unique,
  uuid,
} from 'drizzle-orm/pg-core';
import { ALERT_SEVERITIES, sqlList, type AlertSeverity, type ModelVersionId, type TenantId } from './enums';
import { modelVersions, tenants } from './registry';

/** Immutable: a trigger refuses UPDATE and DELETE (see the triggers migration). */
export const datasetSnapshots = pgTable(
  'dataset_snapshots',
  {
    id: uuid('id').primaryKey(),
    tenantId: text('tenant_id')
      .$type<TenantId>()
      .notNull()
      .references(() => tenants.id),
    featureSignature: text('feature_signature').notNull(),
    merkleRoot: text('merkle_root').notNull(),
    rowCount: integer('row_count').notNull(),
    manifest: jsonb('manifest').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  },
  (t) => [
    index('dataset_snapshots_tenant').on(t.tenantId),
    check('dataset_snapshots_merkle_root', sql.raw(`merkle_root ~ '^[0-9a-f]{64}$'`)),
    check('dataset_snapshots_row_count', sql.raw('row_count >= 0')),
  ],
);

/**
 * Signed daily drift reports, one per tenant and day (report windows do not
 * overlap); immutable like snapshots. `body` is the report as signed: its
 * RFC 8785 canonical JSON hashes to `digest` (SHA-256, hex), and `signature`
 * is Ed25519 over those 32 bytes by the node key `kid`.
 */
export const driftReports = pgTable(
  'drift_reports',
  {
    id: uuid('id').primaryKey(),
    tenantId: text('tenant_id')
      .$type<TenantId>()
      .notNull()
      .references(() => tenants.id),
    /** The tenant's champion when the day closed, if any. */
    modelVersionId: uuid('model_version_id')
      .$type<ModelVersionId>()
      .references(() => modelVersions.id),
    day: date('day', { mode: 'string' }).notNull(),
    metrics: jsonb('metrics').notNull(),
    score: doublePrecision('score'),
    driftScore: doublePrecision('drift_score'),
    breach: boolean('breach').notNull(),
    digest: text('digest').notNull(),
    kid: text('kid').notNull(),
    signature: text('signature').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  },
  (t) => [
    unique('drift_reports_tenant_day').on(t.tenantId, t.day),
    check('drift_reports_digest', sql.raw(`digest ~ '^[0-9a-f]{64}$'`)),
  ],
);

export const learningEvents = pgTable(
  'learning_events',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    tenantId: text('tenant_id')
      .$type<TenantId>()
      .notNull()
      .references(() => tenants.id),
    idempotencyKey: text('idempotency_key').notNull(),
    modelVersionId: uuid('model_version_id').$type<ModelVersionId>(),
    /** Joins a delayed label to its prediction. */
    predictionId: text('prediction_id'),
    segment: text('segment'),
    source: text('source'),
    prediction: doublePrecision('prediction'),
    actual: doublePrecision('actual'),
    features: jsonb('features').notNull(),
    /** A delayed label that joined its prediction: kept for idempotency, left out of windows. */
    isLabel: boolean('is_label').notNull().default(false),
    /** A failed serving (`error`, `timeout`); null = ok. Windows leave failed servings out. */
    outcome: text('outcome').$type<'error' | 'timeout'>(),
    occurredAt: timestamp('occurred_at', { withTimezone: true, mode: 'date' }).notNull(),
    receivedAt: timestamp('received_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  },
  (t) => [
    unique('learning_events_idempotency').on(t.tenantId, t.idempotencyKey),
    index('learning_events_tenant_time').on(t.tenantId, t.occurredAt),
    // Only events that carry a predictionId are ever looked up by it (label joins).
    index('learning_events_prediction').on(t.tenantId, t.predictionId).where(sql.raw('prediction_id IS NOT NULL')),
    check('learning_events_outcome_valid', sql.raw(`outcome IS NULL OR outcome IN ('error','timeout')`)),
  ],
);

/** Data sources allowed to post learning events, with the key they sign with. */
export const dataSources = pgTable(
  'data_sources',
  {
    id: text('id').primaryKey(),
    publicKeyJwk: jsonb('public_key_jwk'),
    tenantIds: text('tenant_ids').array().notNull(),
    requireSignature: boolean('require_signature').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  },
  () => [check('data_sources_key_when_signing', sql.raw('NOT require_signature OR public_key_jwk IS NOT NULL'))],
);
export type DataSourceRow = typeof dataSources.$inferSelect;

export const alerts = pgTable(
  'alerts',
  {
    id: uuid('id').primaryKey(),
    tenantId: text('tenant_id').$type<TenantId>(),
    severity: text('severity').$type<AlertSeverity>().notNull(),
    kind: text('kind').notNull(),
    /** Raising the same alert twice (a retry, a redelivery) is one alert. */
    dedupeKey: text('dedupe_key').unique('alerts_dedupe_key'),
    message: text('message').notNull(),
    details: jsonb('details').notNull().default({}),
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
    ackedAt: timestamp('acked_at', { withTimezone: true, mode: 'date' }),
    ackedBy: text('acked_by'),
    /** The acknowledging operator's verdict: was the alert right? (drift alerts' false-positive rate) */
    label: text('label').$type<'true_positive' | 'false_positive'>(),
    note: text('note'),
    escalatedAt: timestamp('escalated_at', { withTimezone: true, mode: 'date' }),
    /** 0 = its severity's own channel; each escalation past the ack SLA moves it one channel up (compare-and-set, once per level). */
    escalationLevel: integer('escalation_level').notNull().default(0),
  },
  (t) => [
    index('alerts_open').on(t.severity, t.createdAt),
    check('alerts_severity_valid', sql.raw(`severity IN ${sqlList(ALERT_SEVERITIES)}`)),
    check('alerts_label_valid', sql.raw(`label IS NULL OR label IN ('true_positive','false_positive')`)),
    index('alerts_tenant').on(t.tenantId, t.createdAt),
    check('alerts_escalation_level', sql.raw('escalation_level >= 0')),
  ],
);
