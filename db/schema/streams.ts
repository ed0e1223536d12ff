import { sql } from 'drizzle-orm';
import { bigint, check, customType, index, integer, jsonb, pgTable, primaryKey, text, timestamp, uniqueIndex } from 'drizzle-orm/pg-core';

/** bytea as Uint8Array on both drivers (postgres.js hands back Buffers, PGlite Uint8Arrays). */
const bytea = customType<{ data: Uint8Array; driverData: Uint8Array }>({
  dataType: () => 'bytea',
  toDriver: (value) => Buffer.from(value.buffer, value.byteOffset, value.byteLength),
  fromDriver: (value) => new Uint8Array(value),
});

/**
 * The embedded durable streams (control-plane/streams/sql-streams.ts). One
 * row per stream; `last_seq` is the sequence counter, locked per publish so
 * sequences are gapless and committed in order.
 */
export const streams = pgTable(
  'streams',
  {
    name: text('name').primaryKey(),
    subjects: jsonb('subjects').$type<string[]>().notNull(),
    duplicateWindowMs: bigint('duplicate_window_ms', { mode: 'number' }).notNull(),
    /** Null: messages are kept forever. */
    maxAgeMs: bigint('max_age_ms', { mode: 'number' }),
    lastSeq: bigint('last_seq', { mode: 'number' }).notNull().default(0),
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  },
  (t) => [check('streams_last_seq', sql.raw('last_seq >= 0'))],
);

/** Stored messages; a msg_id is stored once per stream for as long as the message is kept. */
export const streamMessages = pgTable(
  'stream_messages',
  {
    stream: text('stream')
      .notNull()
      .references(() => streams.name, { onDelete: 'cascade' }),
    seq: bigint('seq', { mode: 'number' }).notNull(),
    subject: text('subject').notNull(),
    msgId: text('msg_id').notNull(),
    data: bytea('data').notNull(),
    publishedAt: timestamp('published_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.stream, t.seq] }),
    uniqueIndex('stream_messages_msg_id').on(t.stream, t.msgId),
    index('stream_messages_published_at').on(t.stream, t.publishedAt),
  ],
);

/** Durable consumers: every message up to `ack_floor` is acked (or given up on). */
export const streamConsumers = pgTable(
  'stream_consumers',
  {
    stream: text('stream')
      .notNull()
      .references(() => streams.name, { onDelete: 'cascade' }),
    durable: text('durable').notNull(),
    ackFloor: bigint('ack_floor', { mode: 'number' }).notNull().default(0),
    filterSubject: text('filter_subject'),
    ackWaitMs: integer('ack_wait_ms').notNull(),
    maxDeliver: integer('max_deliver'),
    updatedAt: timestamp('updated_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.stream, t.durable] })],
);
