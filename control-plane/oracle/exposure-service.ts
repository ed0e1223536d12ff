import { randomUUID } from 'node:crypto';
import { and, eq } from 'drizzle-orm';
import { RevisionConflictError } from '../../actors/errors';
import { evaluateBreakers } from '../../actors/oracle/breakers';
import { admits, canaryCohort, step, type ExposureEvent, type ExposureStage, type ExposureState } from '../../actors/oracle/exposure';
import { actorOf, type Principal } from '../../actors/principal';
import type { Db } from '../../db/client';
import { alerts, oracleExposure } from '../../db/schema';
import type { AlertInput } from '../alerts/raise-alert';
import type { AuditLog } from '../audit/audit-store';
import type { Clock } from '../ports/clock';
import type { Partner, PartnerRegistry } from './partners';
import type { ClusterTraffic } from './cluster-traffic';
import { TrafficWindow } from './traffic';

/** Accepts or refuses a governance unlock (the governance service; default refuses): whether the move may go ahead; `unlockId` absent asks whether the action is locked at all. */
export type VerifyUnlock = (unlockId: string | undefined, action: { action: string; params: Record<string, unknown> }) => Promise<boolean>;

export const refuseAllUnlocks: VerifyUnlock = async () => false;

export interface ExposureDto {
  stage: ExposureStage;
  previousStage: ExposureStage | null;
  revision: number;
  changedBy: string;
  reason: string;
  changedAt: string;
}

/**
 * The oracle's exposure stage: held in memory for the request path, stored
 * in one row (compare-and-set on the revision), moved by ADMINs through the
 * stage machine in actors/oracle/exposure.ts, and stepped back by breakers.
 */
export class ExposureService {
  readonly traffic = new TrafficWindow();
  #row!: ExposureDto;
  #cohort: ReadonlySet<string> = new Set();

  constructor(
    private readonly db: Db,
    private readonly audit: AuditLog,
    private readonly clock: Clock,
    private readonly partners: PartnerRegistry,
    private readonly options: {
      verifyUnlock?: VerifyUnlock | undefined;
      /** Routes an alert to people (the shared raiseAlert); the row itself is written in the move's transaction. */
      raise?: ((input: AlertInput) => Promise<unknown>) | undefined;
      /** Breakers judge every node's traffic; absent: this node's only. */
      cluster?: ClusterTraffic | undefined;
    } = {},
  ) {
    partners.onChange(() => this.#recomputeCohort());
  }

  /** Reads the stored stage (at start, and on a timer for changes made by other nodes). */
  async load(): Promise<void> {
    const [row] = await this.db.select().from(oracleExposure).where(eq(oracleExposure.id, 1)).limit(1);
    if (!row) throw new Error('oracle_exposure is missing: the migrations did not run');
    const changed = !this.#row || row.revision !== this.#row.revision;
    this.#row = { stage: row.stage, previousStage: row.previousStage, revision: row.revision, changedBy: row.changedBy, reason: row.reason, changedAt: row.changedAt.toISOString() };
    if (changed) this.#recomputeCohort();
  }

  current(): ExposureDto {
    return this.#row;
  }

  /** Whether the current stage lets this partner through (the request path: memory only). */
  admits(partner: Partner): boolean {
    return admits(this.#row.stage, partner, this.#cohort);
  }

  /** An ADMIN's move; OPEN needs `unlockId` accepted by the governance check. */
  async set(to: ExposureStage, by: Principal, reason: string, unlockId?: string): Promise<ExposureDto> {
    await this.load();
    const unlockAccepted = (unlockId !== undefined || to === 'OPEN') && (await (this.options.verifyUnlock ?? refuseAllUnlocks)(unlockId, { action: 'oracle.exposure.set', params: { stage: to } }));
    return this.#apply({ type: 'set', to, by: { name: by.name, role: by.role }, reason, unlockAccepted }, actorOf(by), reason);
  }

  /** A breaker trip: one stage back, audited, with an alert row. */
  async trip(breaker: string, detail: string): Promise<ExposureDto> {
    await this.load();
    return this.#apply({ type: 'breaker', breaker, detail }, 'system:oracle-breaker', `breaker ${breaker}: ${detail}`);
  }

  /** Evaluates the breakers over this node's traffic; trips one when it fires. */
  async checkBreakers(): Promise<ExposureDto | null> {
    const now = this.clock.now().getTime();
    const cluster = this.options.cluster;
    let minutes = this.traffic.completeMinutes(now);
    if (cluster) {
      await cluster.share(this.traffic, now);
      await this.load();
      // Only minutes after the last stage change count: the new stage starts clean.
      minutes = await cluster.minutes(now, Math.floor(Date.parse(this.#row.changedAt) / 60_000));
    }
    const trip = evaluateBreakers(minutes);
    if (!trip || this.#row.stage === 'SHADOW_SYNC') return null;
    return this.trip(trip.breaker, trip.detail);
  }

  async #apply(event: ExposureEvent, actor: string, reason: string): Promise<ExposureDto> {
    const state: ExposureState = { stage: this.#row.stage, previousStage: this.#row.previousStage, revision: this.#row.revision };
    const { state: next, effects } = step(state, event);
    if (next.revision === state.revision) return this.#row;
    const now = this.clock.now();
    const raised: AlertInput[] = [];
    await this.db.transaction(async (txRaw) => {
      const tx = txRaw as unknown as Db;
      const moved = await tx
        .update(oracleExposure)
        .set({ stage: next.stage, previousStage: next.previousStage, revision: next.revision, changedBy: actor, reason, changedAt: now })
        .where(and(eq(oracleExposure.id, 1), eq(oracleExposure.revision, state.revision)))
        .returning({ revision: oracleExposure.revision });
      if (moved.length !== 1) throw new RevisionConflictError('the oracle exposure changed concurrently; reload and retry');
      for (const effect of effects) {
        if (effect.type === 'audit') await this.audit.append(tx, { actor, action: effect.action, subject: 'oracle:exposure', payload: effect.payload });
        else {
          const alert: AlertInput = { tenantId: null, severity: effect.severity, kind: effect.kind, message: effect.message, details: effect.details, dedupeKey: `oracle:${effect.kind}:${next.revision}` };
          await tx.insert(alerts).values({ id: randomUUID(), ...alert, tenantId: null, createdAt: now }).onConflictDoNothing({ target: alerts.dedupeKey });
          raised.push(alert);
        }
      }
    });
    // After the commit: onto the alerts stream (the row exists; raiseAlert de-duplicates by key).
    for (const alert of raised) await this.options.raise?.(alert);
    this.traffic.reset();
    await this.load();
    return this.#row;
  }

  #recomputeCohort(): void {
    if (!this.#row) return;
    this.#cohort = canaryCohort(
      this.#row.stage,
      this.partners.all().filter((p) => !p.internal).map((p) => p.id),
    );
  }
}
