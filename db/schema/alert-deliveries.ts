import { sql } from 'drizzle-orm';
import { check, integer, pgTable, primaryKey, text, timestamp, uuid } from 'drizzle-orm/pg-core';
import { alerts } from './learning';

/**
 * One row per (alert, escalation level): which channel it went to, how many
 * webhook attempts it took, when it was delivered, and the last error. The
 * router de-duplicates on it: a redelivered stream message for a delivered
 * row is acked without calling the webhook again.
 */
export const alertDeliveries = pgTable(
  'alert_deliveries',
  {
    alertId: uuid('alert_id')
      .notNull()
      .references(() => alerts.id, { onDelete: 'cascade' }),
    level: integer('level').notNull(),
    channel: text('channel').notNull(),
    attempts: integer('attempts').notNull().default(0),
    deliveredAt: timestamp('delivered_at', { withTimezone: true, mode: 'date' }),
    lastError: text('last_error'),
    lastAttemptAt: timestamp('last_attempt_at', { withTimezone: true, mode: 'date' }),
  },
  (t) => [primaryKey({ columns: [t.alertId, t.level], name: 'alert_deliveries_pk' }), check('alert_deliveries_attempts', sql.raw('attempts >= 0 AND level >= 0'))],
);
