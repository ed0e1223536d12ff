import type { ShardOwnership } from './shards';

/**
 * Whether this node runs the cluster-wide singletons (the SLO monitors'
 * sweeps). One node at a time says yes.
 */
export interface ClusterLeadership {
  leads(): boolean;
}

/**
 * The shard whose lease makes its holder the leader. Leases already move on a
 * graceful stop (given back at once) and on a death (taken over when they
 * lapse), and `owns()` turns false before another node may claim the lease,
 * so two nodes never lead at once while clocks agree within ttl/5. A
 * rebalance gives up the highest shards first, so the leader keeps shard 0
 * when nodes join.
 */
export const LEADER_SHARD = 0;

/** A node alone (embedded mode, or no shard leases) always leads. */
export const SOLE_LEADER: ClusterLeadership = { leads: () => true };

/** The leader is the node holding shard 0's lease; without leases the node is alone and leads. */
export function leadershipOf(ownership: ShardOwnership | null): ClusterLeadership {
  return ownership ? { leads: () => ownership.owns(LEADER_SHARD) } : SOLE_LEADER;
}
