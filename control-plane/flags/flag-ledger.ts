/**
 * The green ledger: the append-only `flag_ledger` rows with their
 * `dec-YYYYMMDD-<kind>-###` ids, strategy hashes and flag snapshots, the
 * green decisions a kill re-pins to and a restore takes the profile from,
 * and the ledger read for exports.
 */
import { and, asc, desc, eq, like, sql } from 'drizzle-orm';
import type { Profile } from '../../actors/flags/model';
import type { Db } from '../../db/client';
import { featureFlags, flagLedger, type FeatureFlagRow, type FlagDecision } from '../../db/schema/flags';
import { canonicalJson, sha256Hex } from '../audit/format';
import { ledgerDto, type LedgerDto } from './flag-dto';

export interface LedgerInput {
  decision: FlagDecision;
  stageFrom: number | null;
  approver: string;
  reason: string;
  evidence: Record<string, unknown>;
  restorePoint: string | null;
  now: Date;
}

/**
 * The decisions a kill re-pins to and a restore takes the profile from: every
 * decision a person made on purpose (an edit too), never a kill.
 */
export const GREEN_DECISIONS = sql.raw(`('create','promotion','rollback','restore','edit')`);

/**
 * Appends a decision to the ledger, with the flag's strategy after it and
 * its hash (SHA-256 of the RFC 8785 JSON), and a snapshot of every flag.
 * A kill is named as the rollback it is (`dec-YYYYMMDD-rollback-###`).
 */
export async function appendLedger(tx: Db, flag: FeatureFlagRow, e: LedgerInput): Promise<{ id: string; strategyHash: string }> {
  const day = e.now.toISOString().slice(0, 10).replace(/-/g, '');
  const name = e.decision === 'kill' ? 'rollback' : e.decision;
  const prefix = `dec-${day}-${name}-`;
  const [{ n }] = (await tx.select({ n: sql<number>`count(*)::int` }).from(flagLedger).where(like(flagLedger.id, `${prefix}%`))) as [{ n: number }];
  const id = `${prefix}${String(n + 1).padStart(3, '0')}`;
  const strategy = { key: flag.key, stage: flag.stage, killed: flag.killed, audience: flag.audience, dependencies: flag.dependencies, profile: flag.profile, defaultProfile: flag.defaultProfile };
  const strategyHash = sha256Hex(canonicalJson(strategy));
  const all = await tx.select().from(featureFlags).orderBy(asc(featureFlags.key));
  const snapshot = all.map((f) => ({ key: f.key, stage: f.stage, killed: f.killed, profile: f.profile.name, percentage: f.audience.percentage, version: f.version }));
  // A JSON copy: the evidence is stored exactly as it is exported.
  const evidence = JSON.parse(JSON.stringify(e.evidence)) as Record<string, unknown>;
  await tx.insert(flagLedger).values({ id, flagKey: flag.key, decision: e.decision, stageFrom: e.stageFrom, stageTo: flag.stage, approver: e.approver, reason: e.reason, evidence, snapshot, strategy, strategyHash, restorePoint: e.restorePoint, at: e.now });
  return { id, strategyHash };
}

/**
 * The profile of the flag's last green ledger entry made while it was live
 * (null when none recorded one): an edit of a killed flag records the
 * default profile the kill put in place, which is not what a restore brings back.
 */
export async function lastGreenProfile(tx: Db, key: string): Promise<Profile | null> {
  const [green] = await tx
    .select({ strategy: flagLedger.strategy })
    .from(flagLedger)
    .where(and(eq(flagLedger.flagKey, key), sql`${flagLedger.decision} in ${GREEN_DECISIONS}`, sql`coalesce((${flagLedger.strategy}->>'killed')::boolean, false) = false`))
    .orderBy(desc(flagLedger.seq))
    .limit(1);
  return ((green?.strategy as { profile?: Profile } | undefined)?.profile) ?? null;
}

/** Ledger entries oldest first, of one flag or all, after a sequence number. */
export async function listLedger(db: Db, opts: { key?: string; limit: number; after?: number }): Promise<LedgerDto[]> {
  const rows = await db
    .select()
    .from(flagLedger)
    .where(and(opts.key ? eq(flagLedger.flagKey, opts.key) : undefined, opts.after !== undefined ? sql`${flagLedger.seq} > ${opts.after}` : undefined))
    .orderBy(asc(flagLedger.seq))
    .limit(opts.limit);
  return rows.map(ledgerDto);
}

/** A flag's latest ledger entries, newest first (what the console's flag view shows). */
export async function recentLedger(db: Db, key: string, limit: number): Promise<LedgerDto[]> {
  const rows = await db.select().from(flagLedger).where(eq(flagLedger.flagKey, key)).orderBy(desc(flagLedger.seq)).limit(limit);
  return rows.map(ledgerDto);
}
