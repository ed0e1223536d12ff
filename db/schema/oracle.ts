import { sql } from 'drizzle-orm';
import { bigint, boolean, check, integer, jsonb, pgTable, primaryKey, smallint, text, timestamp } from 'drizzle-orm/pg-core';

export const PARTNER_ALGS = ['EdDSA', 'ES256'] as const;
export type PartnerAlg = (typeof PARTNER_ALGS)[number];

import type { ExposureStage } from '../../actors/oracle/exposure';

/**
 * Partners allowed to call the oracle: one public key each (its algorithm
 * fixed at registration, so a token cannot pick another), whether it is an
 * internal audit principal, and its rate limit.
 */
export const oraclePartners = pgTable(
  'oracle_partners',
  {
    id: text('id').primaryKey(),
    alg: text('alg').$type<PartnerAlg>().notNull(),
    publicKeyJwk: jsonb('public_key_jwk').notNull(),
    internal: boolean('internal').notNull().default(false),
    rateLimitPerSecond: integer('rate_limit_per_second').notNull().default(1000),
    /** Oracle audiences (`aud`) this partner may present; null = this deployment's TOLLGATE_ORACLE_AUDIENCE only. */
    audiences: text('audiences').array(),
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  },
  () => [
    check('oracle_partners_id_format', sql.raw(`id ~ '^[a-z0-9][a-z0-9._-]{0,62}$'`)),
    check('oracle_partners_alg_valid', sql.raw(`alg IN ('EdDSA', 'ES256')`)),
    check('oracle_partners_rate_limit', sql.raw('rate_limit_per_second between 1 and 100000')),
  ],
);
export type OraclePartnerRow = typeof oraclePartners.$inferSelect;

/** The oracle's exposure stage, one row; `revision` is compared-and-set on every move. */
export const oracleExposure = pgTable(
  'oracle_exposure',
  {
    id: smallint('id').primaryKey(),
    stage: text('stage').$type<ExposureStage>().notNull(),
    previousStage: text('previous_stage').$type<ExposureStage>(),
    revision: integer('revision').notNull().default(0),
    changedBy: text('changed_by').notNull(),
    reason: text('reason').notNull(),
    changedAt: timestamp('changed_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  },
  () => [
    check('oracle_exposure_single_row', sql.raw('id = 1')),
    check('oracle_exposure_stage_valid', sql.raw(`stage IN ('SHADOW_SYNC', 'DARK_LAUNCH', 'CANARY_1', 'CANARY_10', 'OPEN')`)),
  ],
);

/**
 * Each node's oracle traffic per complete minute (requests, auth refusals,
 * a mergeable latency histogram): the breakers judge the sum over nodes.
 * Rows older than an hour are deleted.
 */
export const oracleTrafficMinutes = pgTable(
  'oracle_traffic_minutes',
  {
    nodeId: text('node_id').notNull(),
    minute: bigint('minute', { mode: 'number' }).notNull(),
    requests: integer('requests').notNull(),
    authRefusals: integer('auth_refusals').notNull(),
    latency: jsonb('latency').$type<Record<string, number>>().notNull(),
  },
  (t) => [primaryKey({ columns: [t.nodeId, t.minute] })],
);
