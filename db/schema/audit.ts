import { sql } from 'drizzle-orm';
import { bigint, check, jsonb, pgTable, smallint, text, timestamp, uniqueIndex } from 'drizzle-orm/pg-core';

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
 * The chain's head, one row. An append locks it (`SELECT … FOR UPDATE`),
 * which serializes appends across nodes and reads the latest head in the
 * same statement, then moves it in the statement that inserts the entry.
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
