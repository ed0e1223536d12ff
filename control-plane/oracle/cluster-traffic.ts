import { and, gte, lt } from 'drizzle-orm';
import type { MinuteStats } from '../../actors/oracle/breakers';
import type { Db } from '../../db/client';
import { oracleTrafficMinutes } from '../../db/schema';
import { mergeFigures, toStats, type TrafficWindow } from './traffic';

const LOOK_BACK_MINUTES = 5;
const KEEP_MINUTES = 60;

/**
 * The oracle's traffic across nodes: each node writes its complete minutes
 * (idempotent upserts: a complete minute's figures are final) and the breaker
 * check adds every node's figures up, so a breaker sees the whole cluster's
 * traffic rather than one node's share of it.
 */
export class ClusterTraffic {
  constructor(
    private readonly db: Db,
    private readonly nodeId: string,
  ) {}

  /** Writes this node's complete minutes. */
  async share(window: TrafficWindow, nowMs: number): Promise<void> {
    for (const f of window.completeFigures(nowMs)) {
      const values = { requests: f.requests, authRefusals: f.authRefusals, latency: f.latency };
      await this.db
        .insert(oracleTrafficMinutes)
        .values({ nodeId: this.nodeId, minute: f.minute, ...values })
        .onConflictDoUpdate({ target: [oracleTrafficMinutes.nodeId, oracleTrafficMinutes.minute], set: values });
    }
  }

  /** Every node's complete minutes after `afterMinute` (and at most the last few), summed, oldest first. */
  async minutes(nowMs: number, afterMinute: number): Promise<MinuteStats[]> {
    const current = Math.floor(nowMs / 60_000);
    const from = Math.max(afterMinute + 1, current - LOOK_BACK_MINUTES);
    const rows = await this.db
      .select()
      .from(oracleTrafficMinutes)
      .where(and(gte(oracleTrafficMinutes.minute, from), lt(oracleTrafficMinutes.minute, current)));
    return mergeFigures(rows).map(toStats);
  }

  /** Deletes figures nobody will read again. */
  async prune(nowMs: number): Promise<void> {
    const cutoff = Math.floor(nowMs / 60_000) - KEEP_MINUTES;
    await this.db.delete(oracleTrafficMinutes).where(lt(oracleTrafficMinutes.minute, cutoff));
  }
}
