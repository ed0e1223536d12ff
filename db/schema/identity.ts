import { sql } from 'drizzle-orm';
import { check, index, pgTable, text, timestamp } from 'drizzle-orm/pg-core';
import { ROLES, sqlList, type Role } from './enums';

export const users = pgTable(
  'users',
  {
    name: text('name').primaryKey(),
    role: text('role').$type<Role>().notNull(),
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  },
  () => [
    check('users_role_valid', sql.raw(`role IN ${sqlList(ROLES)}`)),
    check('users_name_format', sql.raw(`name ~ '^[a-z0-9][a-z0-9._-]{0,62}$'`)),
  ],
);

/** Bearer tokens are stored only as SHA-256 digests. */
export const apiTokens = pgTable(
  'api_tokens',
  {
    id: text('id').primaryKey(),
    userName: text('user_name')
      .notNull()
      .references(() => users.name),
    tokenHash: text('token_hash').notNull().unique(),
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
    revokedAt: timestamp('revoked_at', { withTimezone: true, mode: 'date' }),
    /** Null: never expires (tokens created before expiry existed). */
    expiresAt: timestamp('expires_at', { withTimezone: true, mode: 'date' }),
  },
  (t) => [index('api_tokens_user').on(t.userName)],
);

export type UserRow = typeof users.$inferSelect;
