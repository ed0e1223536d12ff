import { sql } from 'drizzle-orm';
import { bigserial, check, index, integer, jsonb, pgTable, primaryKey, text, timestamp } from 'drizzle-orm/pg-core';

/** Persisted actor state, one row per actor, versioned for compare-and-set. */
export const actorState = pgTable(
  'actor_state',
  {
    kind: text('kind').notNull(),
    id: text('id').notNull(),
    state: jsonb('state').notNull(),
    version: integer('version').notNull(),
    updatedAt: timestamp('updated_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.kind, t.id] }), check('actor_state_version_positive', sql.raw('version >= 1'))],
);

/** Timers survive restarts: re-armed from here on start-up. */
export const actorTimers = pgTable(
  'actor_timers',
  {
    kind: text('kind').notNull(),
    actorId: text('actor_id').notNull(),
    timerId: text('timer_id').notNull(),
    fireAt: timestamp('fire_at', { withTimezone: true, mode: 'date' }).notNull(),
    message: jsonb('message').notNull(),
  },
  (t) => [primaryKey({ columns: [t.kind, t.actorId, t.timerId] }), index('actor_timers_fire_at').on(t.fireAt)],
);

/** Messages that crashed their actor three times. */
export const deadLetters = pgTable(
  'dead_letters',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    kind: text('kind').notNull(),
    actorId: text('actor_id').notNull(),
    message: jsonb('message').notNull(),
    error: text('error').notNull(),
    attempts: integer('attempts').notNull(),
    at: timestamp('at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  },
  (t) => [index('dead_letters_actor').on(t.kind, t.actorId)],
);
