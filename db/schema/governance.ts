import { sql } from 'drizzle-orm';
import { boolean, check, index, integer, jsonb, pgTable, primaryKey, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';

export const UNLOCK_STATES = ['PENDING', 'UNLOCKED', 'CONSUMED'] as const;
export type UnlockState = (typeof UNLOCK_STATES)[number];

/**
 * Committees of share holders. Only public material is stored: the
 * governance public key, the threshold, the salt of the commitments and the
 * ceremony's proof signature. At most one committee is active.
 */
export const governanceCommittees = pgTable(
  'governance_committees',
  {
    id: uuid('id').primaryKey(),
    publicKey: text('public_key').notNull(),
    threshold: integer('threshold').notNull(),
    shareCount: integer('share_count').notNull(),
    salt: text('salt').notNull(),
    proof: text('proof').notNull(),
    digest: text('digest').notNull(),
    active: boolean('active').notNull().default(true),
    createdBy: text('created_by').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex('governance_committees_one_active').on(t.active).where(sql.raw('active')),
    check('governance_committees_threshold', sql.raw('threshold >= 2 AND threshold <= share_count AND share_count <= 255')),
  ],
);

/** One row per member: identity key, share index and the sha256 commitment to the share. */
export const governanceMembers = pgTable(
  'governance_members',
  {
    committeeId: uuid('committee_id')
      .notNull()
      .references(() => governanceCommittees.id),
    memberId: text('member_id').notNull(),
    name: text('name').notNull(),
    publicKey: text('public_key').notNull(),
    shareIndex: integer('share_index').notNull(),
    commitment: text('commitment').notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.committeeId, t.memberId] }),
    uniqueIndex('governance_members_index').on(t.committeeId, t.shareIndex),
    check('governance_members_commitment', sql.raw(`commitment ~ '^[0-9a-f]{64}$'`)),
  ],
);

/**
 * Unlock requests. `signature` is the governance key's signature over the
 * canonical {action, params, actionHash, nonce}; `consumed_at` makes an unlock
 * single-use (a trigger refuses to set it twice or to change a signature).
 */
export const governanceUnlocks = pgTable(
  'governance_unlocks',
  {
    id: uuid('id').primaryKey(),
    committeeId: uuid('committee_id')
      .notNull()
      .references(() => governanceCommittees.id),
    action: text('action').notNull(),
    params: jsonb('params').notNull(),
    actionHash: text('action_hash').notNull(),
    nonce: text('nonce').notNull(),
    justification: text('justification').notNull(),
    proposedBy: text('proposed_by').notNull(),
    state: text('state').$type<UnlockState>().notNull().default('PENDING'),
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull(),
    expiresAt: timestamp('expires_at', { withTimezone: true, mode: 'date' }).notNull(),
    resets: integer('resets').notNull().default(0),
    signature: text('signature'),
    unlockedAt: timestamp('unlocked_at', { withTimezone: true, mode: 'date' }),
    consumedAt: timestamp('consumed_at', { withTimezone: true, mode: 'date' }),
    consumedBy: text('consumed_by'),
  },
  (t) => [
    index('governance_unlocks_created').on(t.createdAt),
    check('governance_unlocks_state', sql.raw(`state IN ('PENDING','UNLOCKED','CONSUMED')`)),
    check('governance_unlocks_hash', sql.raw(`action_hash ~ '^[0-9a-f]{64}$'`)),
    check('governance_unlocks_signed', sql.raw(`(state = 'PENDING') = (signature IS NULL)`)),
    check('governance_unlocks_consumed', sql.raw(`(state = 'CONSUMED') = (consumed_at IS NOT NULL)`)),
  ],
);

/**
 * Accepted share submissions: who, for which nonce, the share's digest and the
 * member's signature. The share itself is never stored (see UnlockService).
 */
export const governanceSubmissions = pgTable(
  'governance_submissions',
  {
    unlockId: uuid('unlock_id')
      .notNull()
      .references(() => governanceUnlocks.id),
    memberId: text('member_id').notNull(),
    nonce: text('nonce').notNull(),
    shareDigest: text('share_digest').notNull(),
    signature: text('signature').notNull(),
    vault: text('vault').notNull(),
    discarded: boolean('discarded').notNull().default(false),
    at: timestamp('at', { withTimezone: true, mode: 'date' }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.unlockId, t.memberId, t.nonce] })],
);

export type CommitteeRow = typeof governanceCommittees.$inferSelect;
export type MemberRow = typeof governanceMembers.$inferSelect;
export type UnlockRow = typeof governanceUnlocks.$inferSelect;
export type SubmissionRow = typeof governanceSubmissions.$inferSelect;

/**
 * Which governance-lockable actions are locked now: one row, absent = all of
 * them (the default list). Written only by `governance.locked-actions.change`.
 */
export const governanceSettings = pgTable(
  'governance_settings',
  {
    id: integer('id').primaryKey(),
    lockedActions: text('locked_actions').array().notNull(),
    changedBy: text('changed_by').notNull(),
    unlockId: uuid('unlock_id').notNull(),
    changedAt: timestamp('changed_at', { withTimezone: true, mode: 'date' }).notNull(),
  },
  () => [check('governance_settings_single_row', sql.raw('id = 1'))],
);
