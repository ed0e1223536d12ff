import { and, eq, gt, inArray, sql } from 'drizzle-orm';
import type { Logger } from 'pino';
import type { Db } from '../../db/client';
import { rowsOf } from '../../db/rows';
import { clusterNodes, shardLeases } from '../../db/schema';

/** Which actors this node may run. */
export interface ShardOwnership {
  readonly shardCount: number;
  owns(shard: number): boolean;
}

/** FNV-1a of `kind/id`, modulo the shard count: stable across nodes and restarts. */
export function shardOf(kind: string, id: string, shardCount: number): number {
  let h = 0x811c9dc5;
  const key = `${kind}/${id}`;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) % shardCount;
}

/** A node alone (embedded mode): it owns everything. */
export const SOLE_OWNER: ShardOwnership = { shardCount: 1, owns: () => true };

export interface LeaseOptions {
  nodeId: string;
  shardCount?: number;
  ttlMs?: number;
  renewEveryMs?: number;
  log: Logger;
  /** Called with shards this node just acquired (arm their timers). */
  onGained(shards: number[]): Promise<void>;
  /** Called before shards are given up: finish their messages, drop their actors. */
  onLost(shards: number[]): Promise<void>;
}

/**
 * Shard leases in the database: every node heartbeats, holds about
 * shardCount / liveNodes shards, renews them, gives up its excess when nodes
 * join and takes over expired leases when nodes die. A node stops running a
 * shard as soon as its local view of the lease may have expired, so two
 * nodes never run one actor at once while clocks agree within ttl/5; the
 * actors' compare-and-set versions cover the rest.
 */
export class ShardLeaseManager implements ShardOwnership {
  readonly shardCount: number;
  readonly #o: Required<Omit<LeaseOptions, 'shardCount'>>;
  readonly #owned = new Set<number>();
  #validUntil = 0;
  #timer: NodeJS.Timeout | null = null;
  #ticking: Promise<void> = Promise.resolve();

  constructor(
    private readonly db: Db,
    options: LeaseOptions,
  ) {
    this.shardCount = options.shardCount ?? 64;
    this.#o = { ttlMs: 10_000, renewEveryMs: 2_000, ...options };
    if (this.#o.renewEveryMs * 3 > this.#o.ttlMs) throw new RangeError('renewEveryMs must be at most a third of ttlMs');
  }

  owns(shard: number): boolean {
    return this.#owned.has(shard) && Date.now() < this.#validUntil;
  }

  get owned(): number[] {
    return [...this.#owned].sort((a, b) => a - b);
  }

  async start(): Promise<void> {
    await this.db
      .insert(shardLeases)
      .values(Array.from({ length: this.shardCount }, (_, shard) => ({ shard })))
      .onConflictDoNothing();
    await this.tick();
    this.#timer = setInterval(() => {
      this.#ticking = this.#ticking.then(() => this.tick()).catch((err: unknown) => this.#o.log.warn({ err }, 'shard lease renewal failed'));
    }, this.#o.renewEveryMs);
    this.#timer.unref();
  }

  /** One round: heartbeat, renew, then give up the excess or claim a fair share. */
  async tick(): Promise<void> {
    const { nodeId, ttlMs } = this.#o;
    const ttl = sql`(${ttlMs} * interval '1 millisecond')`;
    const startedAt = Date.now();
    await this.db
      .insert(clusterNodes)
      .values({ nodeId, heartbeatAt: sql`now()` as unknown as Date })
      .onConflictDoUpdate({ target: clusterNodes.nodeId, set: { heartbeatAt: sql`now()` } });
    const renewed = await this.db
      .update(shardLeases)
      .set({ expiresAt: sql`now() + ${ttl}` })
      .where(eq(shardLeases.owner, nodeId))
      .returning({ shard: shardLeases.shard });
    this.#validUntil = startedAt + ttlMs - ttlMs / 5;
    const held = new Set(renewed.map((r) => r.shard));
    const taken = [...this.#owned].filter((s) => !held.has(s));
    if (taken.length) await this.#lose(taken); // our lease lapsed and another node has it

    const [{ live } = { live: 1 }] = await this.db
      .select({ live: sql<number>`count(*)::int` })
      .from(clusterNodes)
      .where(gt(clusterNodes.heartbeatAt, sql`now() - ${ttl}`));
    const fair = Math.ceil(this.shardCount / Math.max(1, live));
    const mine = [...held].sort((a, b) => a - b);
    // Leases found in the database that this process did not know it had (a
    // restart under the same node id): take them up again.
    const rediscovered = mine.slice(0, fair).filter((s) => !this.#owned.has(s));
    for (const s of mine.slice(0, fair)) this.#owned.add(s);
    if (rediscovered.length) await this.#o.onGained(rediscovered);
    if (mine.length > fair) {
      const excess = mine.slice(fair);
      await this.#lose(excess);
      await this.db
        .update(shardLeases)
        .set({ owner: null, expiresAt: null })
        .where(and(eq(shardLeases.owner, nodeId), inArray(shardLeases.shard, excess)));
      return;
    }
    if (mine.length < fair) {
      const claimed = await this.db.execute(sql`
        update shard_leases set owner = ${nodeId}, expires_at = now() + ${ttl}
         where shard in (select shard from shard_leases
                          where owner is null or expires_at is null or expires_at < now()
                          order by shard limit ${fair - mine.length} for update skip locked)
        returning shard`);
      const gained = rowsOf<{ shard: number }>(claimed).map((r) => Number(r.shard));
      if (gained.length) {
        for (const s of gained) this.#owned.add(s);
        this.#o.log.info({ nodeId, gained, holding: this.#owned.size }, 'acquired actor shards');
        await this.#o.onGained(gained);
      }
    }
  }

  /**
   * Stops renewing without giving anything back, as a node that died would
   * (its leases lapse after ttl); the fail-over test uses it.
   */
  halt(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    this.#owned.clear();
  }

  /** Gives every shard back (graceful stop) so other nodes take over at once. */
  async stop(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    await this.#ticking.catch(() => undefined);
    const all = this.owned;
    await this.#lose(all);
    await this.db.update(shardLeases).set({ owner: null, expiresAt: null }).where(eq(shardLeases.owner, this.#o.nodeId));
    await this.db.delete(clusterNodes).where(eq(clusterNodes.nodeId, this.#o.nodeId));
  }

  async #lose(shards: number[]): Promise<void> {
    if (!shards.length) return;
    for (const s of shards) this.#owned.delete(s);
    this.#o.log.info({ nodeId: this.#o.nodeId, lost: shards, holding: this.#owned.size }, 'giving up actor shards');
    await this.#o.onLost(shards);
  }
}
