/** The day's runs per flag, read for the daily report (the aggregation is `actors/flags/report.ts`). */
import { and, asc, gte, lt } from 'drizzle-orm';
import { BadRequestError } from '../../actors/errors';
import type { FlagRun } from '../../actors/flags/model';
import { dailyReport, type DailyFlagReport } from '../../actors/flags/report';
import type { Db } from '../../db/client';
import { flagRuns } from '../../db/schema/flags';

/** Runs of one UTC day (`YYYY-MM-DD`), per flag: pass rate, score, latency, vetoed share, top-3 issues. */
export async function dailyRunsReport(db: Db, day: string): Promise<{ day: string; items: DailyFlagReport[] }> {
  const start = new Date(`${day}T00:00:00.000Z`);
  if (Number.isNaN(start.getTime())) throw new BadRequestError(`day must be YYYY-MM-DD, not ${day}`);
  const end = new Date(start.getTime() + 86_400_000);
  const rows = await db.select().from(flagRuns).where(and(gte(flagRuns.at, start), lt(flagRuns.at, end))).orderBy(asc(flagRuns.at), asc(flagRuns.seq));
  const byFlag = new Map<string, FlagRun[]>();
  for (const r of rows) byFlag.set(r.flagKey, [...(byFlag.get(r.flagKey) ?? []), { runId: r.runId, at: r.at.toISOString(), stage: r.stage, metrics: r.metrics }]);
  return { day, items: dailyReport(byFlag) };
}
