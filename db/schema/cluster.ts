import { integer, pgTable, text, timestamp } from 'drizzle-orm/pg-core';

/** Control-plane nodes and their last heartbeat (live = recent heartbeat). */
export const clusterNodes = pgTable('cluster_nodes', {
  nodeId: text('node_id').primaryKey(),
  heartbeatAt: timestamp('heartbeat_at', { withTimezone: true, mode: 'date' }).notNull(),
});

/** Actor shards and the node that holds each, until `expires_at` unless renewed. */
export const shardLeases = pgTable('shard_leases', {
  shard: integer('shard').primaryKey(),
  owner: text('owner'),
  expiresAt: timestamp('expires_at', { withTimezone: true, mode: 'date' }),
});
