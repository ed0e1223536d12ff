import { and, asc, eq, inArray } from 'drizzle-orm';
import { RevisionConflictError } from '../../actors/errors';
import type { ActorMessage } from '../../actors/actor';
import type { Db } from '../../db/client';
import { actorState, actorTimers, deadLetters } from '../../db/schema';
import { pgErrorCode, UNIQUE_VIOLATION } from '../db-errors';
import type { ActorSnapshot, ActorStore, TimerChanges, TimerRecord } from '../ports/actor-store';

/** ActorStore over drizzle: the same code on postgres.js and PGlite. */
export class SqlActorStore implements ActorStore {
  constructor(private readonly db: Db) {}

  async load(kind: string, id: string): Promise<ActorSnapshot | null> {
    const [row] = await this.db
      .select({ state: actorState.state, version: actorState.version })
      .from(actorState)
      .where(and(eq(actorState.kind, kind), eq(actorState.id, id)))
      .limit(1);
    return row ?? null;
  }

  async loadMany(kind: string, ids: readonly string[]): Promise<Map<string, ActorSnapshot>> {
    const out = new Map<string, ActorSnapshot>();
    for (let i = 0; i < ids.length; i += 5_000) {
      const rows = await this.db
        .select({ id: actorState.id, state: actorState.state, version: actorState.version })
        .from(actorState)
        .where(and(eq(actorState.kind, kind), inArray(actorState.id, ids.slice(i, i + 5_000) as string[])));
      for (const r of rows) out.set(r.id, { state: r.state, version: r.version });
    }
    return out;
  }

  async save(kind: string, id: string, state: unknown, expectedVersion: number, timers: TimerChanges): Promise<number> {
    const version = expectedVersion + 1;
    const writeState = async (db: Db) => {
      if (expectedVersion === 0) {
        await db.insert(actorState).values({ kind, id, state, version });
        return;
      }
      const updated = await db
        .update(actorState)
        .set({ state, version, updatedAt: new Date() })
        .where(and(eq(actorState.kind, kind), eq(actorState.id, id), eq(actorState.version, expectedVersion)))
        .returning({ version: actorState.version });
      if (updated.length === 0) throw new RevisionConflictError(`actor ${kind}/${id} moved past version ${expectedVersion}`);
    };
    try {
      // The common case is one statement, atomic on its own: one round trip.
      if (timers.set.length === 0 && timers.cancel.length === 0) {
        await writeState(this.db);
        return version;
      }
      await this.db.transaction(async (txRaw) => {
        const tx = txRaw as unknown as Db;
        await writeState(tx);
        const drop = [...timers.cancel, ...timers.set.map((t) => t.timerId)];
        if (drop.length) {
          await tx
            .delete(actorTimers)
            .where(and(eq(actorTimers.kind, kind), eq(actorTimers.actorId, id), inArray(actorTimers.timerId, drop)));
        }
        if (timers.set.length) {
          await tx.insert(actorTimers).values(timers.set.map((t) => ({ kind, actorId: id, timerId: t.timerId, fireAt: t.at, message: t.message })));
        }
      });
    } catch (err) {
      if (pgErrorCode(err) === UNIQUE_VIOLATION) throw new RevisionConflictError(`actor ${kind}/${id} was created concurrently`, { cause: err });
      throw err;
    }
    return version;
  }

  async pendingTimers(): Promise<TimerRecord[]> {
    const rows = await this.db.select().from(actorTimers).orderBy(asc(actorTimers.fireAt));
    return rows.map((r) => ({ kind: r.kind, actorId: r.actorId, timerId: r.timerId, at: r.fireAt, message: r.message as ActorMessage }));
  }

  async deadLetter(kind: string, id: string, message: unknown, error: string, attempts: number): Promise<void> {
    await this.db.insert(deadLetters).values({ kind, actorId: id, message: message ?? null, error, attempts });
  }
}
