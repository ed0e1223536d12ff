/**
 * The flag tables' transactional pieces: one decision per transaction (a
 * ledger-id race between two decisions of the same day retries), the flag
 * row locked for the decision and the runs of the current stage. The ledger
 * is `flag-ledger.ts`.
 */
import { and, desc, eq, gt, gte } from 'drizzle-orm';
import { NotFoundError } from '../../actors/errors';
import { GATE_RUNS } from '../../actors/flags/gates';
import type { FlagRun } from '../../actors/flags/model';
import type { Db } from '../../db/client';
import { featureFlags, flagRuns, type FeatureFlagRow } from '../../db/schema/flags';
import { UNIQUE_VIOLATION, pgConstraint, pgErrorCode } from '../db-errors';
import type { Clock } from '../ports/clock';

/** Runs `fn` in one transaction at the clock's now; retries when two decisions took the same ledger id. */
export async function inTransaction<T>(db: Db, clock: Clock, fn: (tx: Db, now: Date) => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await db.transaction(async (txRaw) => fn(txRaw as unknown as Db, clock.now()));
    } catch (err) {
      const ledgerRace = pgErrorCode(err) === UNIQUE_VIOLATION && pgConstraint(err) === 'flag_ledger_id';
      if (!ledgerRace || attempt >= 8) throw err;
    }
  }
}

/** The flag, locked for the rest of the transaction when `forUpdate`; 404 when there is none. */
export async function loadFlag(db: Db, key: string, forUpdate = false): Promise<FeatureFlagRow> {
  const q = db.select().from(featureFlags).where(eq(featureFlags.key, key)).limit(1);
  const [row] = forUpdate ? await q.for('update') : await q;
  if (!row) throw new NotFoundError(`no feature flag ${key}`);
  return row;
}

/**
 * The runs reported since the flag entered its stage (and that arrived after
 * an edit last changed its profile), oldest first (the last few; arrival
 * order breaks ties).
 */
export async function stageRuns(db: Db, flag: FeatureFlagRow): Promise<FlagRun[]> {
  const rows = await db
    .select()
    .from(flagRuns)
    .where(and(eq(flagRuns.flagKey, flag.key), eq(flagRuns.stage, flag.stage), gte(flagRuns.at, flag.stageEnteredAt), flag.evidenceAfterRun !== null ? gt(flagRuns.seq, flag.evidenceAfterRun) : undefined))
    .orderBy(desc(flagRuns.at), desc(flagRuns.seq))
    .limit(GATE_RUNS * 2);
  return rows.reverse().map((r) => ({ runId: r.runId, at: r.at.toISOString(), stage: r.stage, metrics: r.metrics }));
}
