import { sql } from 'drizzle-orm';
import { bigint, bigserial, check, jsonb, pgTable, smallint, text, timestamp, uniqueIndex } from 'drizzle-orm/pg-core';

/**
 * The tamper-evident log: one global sequence, each row chained to the one
 * before by `prev_hash` and signed by the writing node. Append-only: a trigger
 * refuses UPDATE, DELETE and TRUNCATE.
 */
export const auditLog = pgTable(
  'audit_log',
  {
    seq: bigint('seq', { mode: 'number' }).primaryKey(),
    // Kept as the exact ISO string that was hashed, never re-formatted.
    at: text('at').notNull(),
    actor: text('actor').notNull(),
    action: text('action').notNull(),
    subject: text('subject').notNull(),
    payload: jsonb('payload').notNull(),
    payloadDigest: text('payload_digest').notNull(),
    prevHash: text('prev_hash').notNull(),
    hash: text('hash').notNull(),
    kid: text('kid').notNull(),
    signature: text('signature').notNull(),
  },
  (t) => [
    uniqueIndex('audit_log_hash').on(t.hash),
    check('audit_log_seq_positive', sql.raw('seq >= 1')),
    check('audit_log_hash_format', sql.raw(`hash ~ '^[0-9a-f]{64}$' AND prev_hash ~ '^[0-9a-f]{64}$'`)),
  ],
);

/**
 * Audit records written by the transactions that made the change, waiting to
 * be chained: the sequencer takes them in id order, signs them and appends
 * them to `audit_log` in batches (as Trillian's sequencer integrates queued
 * leaves), so no request holds the chain's lock.
 */
export const auditQueue = pgTable('audit_queue', {
  id: bigserial('id', { mode: 'number' }).primaryKey(),
  at: text('at').notNull(),
  actor: text('actor').notNull(),
  action: text('action').notNull(),
  subject: text('subject').notNull(),
  payload: jsonb('payload').notNull(),
});

/**
 * The chain's head, one row. The sequencer locks it (`SELECT … FOR
 * UPDATE`), which serializes sequencers across nodes, and moves it in the
 * transaction that appends the batch.
 */
export const auditHead = pgTable(
  'audit_head',
  {
    id: smallint('id').primaryKey(),
    seq: bigint('seq', { mode: 'number' }).notNull(),
    hash: text('hash').notNull(),
  },
  () => [check('audit_head_single_row', sql.raw('id = 1')), check('audit_head_seq_nonneg', sql.raw('seq >= 0'))],
);

/** Public keys of every node that has signed audit entries or snapshots. */
export const signingKeys = pgTable('signing_keys', {
  kid: text('kid').primaryKey(),
  alg: text('alg').notNull().default('EdDSA'),
  publicKeyJwk: jsonb('public_key_jwk').notNull(),
  createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
});

export type AuditRow = typeof auditLog.$inferSelect;
