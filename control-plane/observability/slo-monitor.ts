import { and, desc, eq, lt, sql } from 'drizzle-orm';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { Logger } from 'pino';
import type { Principal } from '../../actors/principal';
import type { Db } from '../../db/client';
import { modelVersions, transitions } from '../../db/schema';
import type { AlertInput } from '../alerts/raise-alert';
import type { AuditLog } from '../audit/audit-store';
import type { Clock } from '../ports/clock';
import { AvailabilityWindow, type AnswerForwarding } from './availability-window';

const HOUR = 3_600_000;

/** The seeds' service-level objectives. */
export const SLO = {
  /** A sustained drift breach alerted within 4 h of its confirming data. */
  driftDetectionSeconds: 4 * 3600,
  /** A retrain finishes within 24 h. */
  retrainingSeconds: 24 * 3600,
  /** A canary is decided (promoted or rolled back) within 1 h of entering CANARY. */
  rolloutWindowSeconds: 3600,
  /** Share of API requests answered without a 5xx, per sweep window (with enough requests to judge). */
  availabilityRatio: 0.999,
  availabilityMinRequests: 100,
} as const;

export const SLO_PRINCIPAL: Principal = { kind: 'system', name: 'slo-monitor', role: 'MANAGER' };
export const DEFAULT_SLO_SWEEP_MS = 60_000;

/** What the monitor needs of a promotion. */
export interface PromotionGlance {
  status: string;
  stageEnteredAt: string;
  ledger: Array<{ at: string }>;
  config: { evaluateEveryMs: number };
}

type SloName = 'drift_detection' | 'retraining' | 'rollout_window' | 'availability';

export interface SloMonitorDeps {
  db: Db;
  audit: AuditLog;
  clock: Clock;
  log: Logger;
  registry: Registry;
  alert: (input: AlertInput) => Promise<unknown>;
  /** Stops a canary through the promotion's kill switch (the model actor); falls back to FAILED through the registry. */
  rollbackCanary: (modelId: string, reason: string) => Promise<void>;
  /** The version's promotion (the model actor's view), or null when it has none. */
  promotionOf: (modelId: string) => Promise<PromotionGlance | null>;
  sweepMs?: number;
  /**
   * With several nodes: only the leader sweeps (rollout windows,
   * availability); the others forward their HTTP answer counts to it on
   * `subject`. Absent: this node is alone and judges everything.
   */
  cluster?: AnswerForwarding;
}

/**
 * Watches the SLOs: each is exported (objective and breaches), and a breach
 * raises an alert; a canary past its rollout window is rolled back. Drift
 * and retrain durations arrive from their metrics hooks; canary ages and
 * availability are checked by a periodic sweep on the injected clock.
 *
 * In a cluster one node judges at a time (the leader, see `leadership.ts`),
 * so a breach is counted, audited and alerted once. The sweep runs on every
 * node but only the leader's evaluates; the others send it their HTTP counts.
 * The drift and retrain hooks judge where they fire: each fires once per
 * cluster (a drift alert once created, a retrain event through a queue group).
 */
export class SloMonitor {
  readonly #breaches: Counter<'slo'>;
  readonly #availability: Gauge;
  readonly #answers: AvailabilityWindow;
  #cancel: (() => void) | null = null;
  #running: Promise<void> | null = null;
  #stopped = false;
  /** Canaries already handled (a failed rollback is retried by hand, not alerted every sweep). */
  readonly #handled = new Set<string>();
  /** Running promotions found without a decision at the previous sweep: stale twice in a row is a stall. */
  #stale = new Set<string>();

  constructor(private readonly deps: SloMonitorDeps) {
    this.#answers = new AvailabilityWindow(deps.cluster, deps.log);
    const objective = new Gauge({ name: 'tollgate_slo_objective_seconds', help: 'Time objectives of the SLOs (drift detection < 4 h, retraining < 24 h, rollout window < 1 h)', labelNames: ['slo'] as const, registers: [deps.registry] });
    objective.set({ slo: 'drift_detection' }, SLO.driftDetectionSeconds);
    objective.set({ slo: 'retraining' }, SLO.retrainingSeconds);
    objective.set({ slo: 'rollout_window' }, SLO.rolloutWindowSeconds);
    new Gauge({ name: 'tollgate_slo_availability_objective_ratio', help: 'Availability objective: share of API requests without a 5xx', registers: [deps.registry] }).set(SLO.availabilityRatio);
    const leads = () => this.#leads();
    // NaN until a window is judged here, and on a node that does not lead (the leader judges the cluster's requests).
    this.#availability = new Gauge({
      name: 'tollgate_slo_availability_ratio',
      help: "Share of the cluster's API requests without a 5xx over the last SLO sweep window (judged by the leading node; NaN elsewhere)",
      registers: [deps.registry],
      collect() {
        if (!leads()) this.set(Number.NaN);
      },
    });
    this.#availability.set(Number.NaN);
    new Gauge({
      name: 'tollgate_slo_monitor_leader',
      help: 'Whether this node judges the SLOs for the cluster (1) or forwards to the node that does (0)',
      registers: [deps.registry],
      collect() {
        this.set(leads() ? 1 : 0);
      },
    });
    this.#breaches = new Counter({ name: 'tollgate_slo_breaches_total', help: 'SLO breaches by SLO (each also raises an alert)', labelNames: ['slo'] as const, registers: [deps.registry] });
  }

  start(): void {
    this.#stopped = false;
    this.#answers.listen();
    this.#arm();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#cancel?.();
    this.#answers.stop();
    await this.#running?.catch(() => undefined);
  }

  /** Drift detection latency of one sustained breach (from the drift metrics hook). */
  driftDetected(seconds: number, tenantId: string): void {
    if (seconds <= SLO.driftDetectionSeconds) return;
    const day = this.deps.clock.now().toISOString().slice(0, 10);
    // A platform alert (no tenant): the tenant's own drift alert already went out; this one is about Tollgate being late.
    void this.#breach('drift_detection', {
      tenantId: null,
      severity: 'P2',
      kind: 'slo.drift-detection',
      dedupeKey: `slo:drift-detection:${tenantId}:${day}`,
      message: `Drift detection SLO missed on tenant ${tenantId}: the breach was alerted ${hours(seconds)} after its data (objective < 4 h)`,
      details: { tenantId, latencySeconds: seconds, objectiveSeconds: SLO.driftDetectionSeconds },
    });
  }

  /** A finished retrain's duration (from the retrain metrics hook). */
  retrainFinished(seconds: number, tenantId: string, sagaId: string): void {
    if (seconds <= SLO.retrainingSeconds) return;
    void this.#breach('retraining', {
      tenantId: null,
      severity: 'P3',
      kind: 'slo.retraining',
      dedupeKey: `slo:retraining:${sagaId}`,
      message: `Retraining SLO missed on tenant ${tenantId}: saga ${sagaId} took ${hours(seconds)} (objective < 24 h)`,
      details: { tenantId, sagaId, durationSeconds: seconds, objectiveSeconds: SLO.retrainingSeconds },
    });
  }

  /** Counts one HTTP answer for the availability SLO. */
  httpAnswered(status: number): void {
    this.#answers.answered(status);
  }

  /** One pass over canary ages and availability; a running pass is joined. */
  sweep(): Promise<void> {
    this.#running ??= this.#sweep().finally(() => (this.#running = null));
    return this.#running;
  }

  #arm(): void {
    if (this.#stopped) return;
    const every = this.deps.sweepMs ?? DEFAULT_SLO_SWEEP_MS;
    this.#cancel = this.deps.clock.setTimer(new Date(this.deps.clock.now().getTime() + every), () => {
      this.#arm();
      void this.sweep().catch((err: unknown) => this.deps.log.warn({ err }, 'SLO sweep failed; retrying at the next one'));
    });
  }

  async #sweep(): Promise<void> {
    await Promise.resolve(); // the clock may have jumped over several sweeps: read it once they all fired
    const now = this.deps.clock.now();
    if (!this.#leads()) {
      // Another node judges the cluster: hand it this window's answers; a later lead starts its stall count afresh.
      this.#answers.forward();
      this.#stale = new Set();
      return;
    }
    await this.#checkRolloutWindows(now);
    this.#checkAvailability(now);
  }

  #leads(): boolean {
    return this.deps.cluster?.leadership.leads() ?? true;
  }

  /**
   * The rollout window: a canary must be decided on within the hour. A
   * version whose promotion runs must get a gate decision at least every
   * `evaluateEveryMs` + 1 h (and is judged stalled only when found so at two
   * sweeps in a row, so a clock that jumps ahead of a pending measurement is
   * not a breach); one held or awaiting a named approval is a person's call;
   * one in CANARY without a promotion (moved by hand) has 1 h from entering
   * CANARY. A breach stops the canary.
   */
  async #checkRolloutWindows(now: Date): Promise<void> {
    const { db } = this.deps;
    const windowMs = SLO.rolloutWindowSeconds * 1000;
    const entered = db
      .select({ at: transitions.at })
      .from(transitions)
      .where(and(eq(transitions.modelVersionId, modelVersions.id), eq(transitions.toState, 'CANARY')))
      .orderBy(desc(transitions.at))
      .limit(1);
    const canaries = await db
      .select({ id: modelVersions.id, tenantId: modelVersions.tenantId, label: modelVersions.label, enteredAt: sql<string | Date>`coalesce((${entered}), ${modelVersions.updatedAt})` })
      .from(modelVersions)
      .where(and(eq(modelVersions.state, 'CANARY'), lt(modelVersions.updatedAt, new Date(now.getTime() - windowMs))))
      .limit(100);
    const staleNow = new Set<string>();
    for (const m of canaries) {
      if (!this.#leads()) break; // stepped down mid-sweep: the next leader judges the rest
      if (this.#handled.has(m.id)) continue;
      const promotion = await this.deps.promotionOf(m.id).catch(() => undefined);
      if (promotion === undefined) continue; // the actor did not answer: next sweep
      let since: number;
      if (promotion === null) {
        since = new Date(m.enteredAt).getTime();
        if (now.getTime() - since <= windowMs) continue;
      } else {
        if (promotion.status !== 'running') continue;
        since = Math.max(Date.parse(promotion.stageEnteredAt), ...promotion.ledger.map((e) => Date.parse(e.at)).filter(Number.isFinite));
        if (now.getTime() - since <= promotion.config.evaluateEveryMs + windowMs) continue;
        staleNow.add(m.id);
        if (!this.#stale.has(m.id)) continue;
      }
      this.#handled.add(m.id);
      const minutes = Math.round((now.getTime() - since) / 60_000);
      const reason = `rollout window SLO breached: canary undecided for ${minutes} min (objective < 60 min)`;
      try {
        await this.deps.rollbackCanary(m.id, reason);
      } catch (err) {
        this.deps.log.error({ err, modelVersionId: m.id, tenantId: m.tenantId }, 'could not roll back a canary past its rollout window');
      }
      await this.#breach('rollout_window', {
        tenantId: m.tenantId,
        severity: 'P2',
        kind: 'slo.rollout-window',
        dedupeKey: `slo:rollout-window:${m.id}`,
        message: `Rollout window SLO missed on tenant ${m.tenantId}: canary ${m.label} (${m.id}) undecided after ${minutes} min; rolled back`,
        details: { modelVersionId: m.id, undecidedSince: new Date(since).toISOString(), objectiveSeconds: SLO.rolloutWindowSeconds },
      });
    }
    this.#stale = staleNow;
  }

  #checkAvailability(now: Date): void {
    const { total, failed } = this.#answers.take();
    if (total === 0) return;
    const ratio = (total - failed) / total;
    this.#availability.set(ratio);
    if (total < SLO.availabilityMinRequests || ratio >= SLO.availabilityRatio) return;
    void this.#breach('availability', {
      tenantId: null,
      severity: 'P2',
      kind: 'slo.availability',
      dedupeKey: `slo:availability:${Math.floor(now.getTime() / HOUR)}`,
      message: `Availability SLO missed: ${failed} of ${total} API requests failed with a 5xx (${(ratio * 100).toFixed(2)}% < ${SLO.availabilityRatio * 100}%)`,
      details: { total, failed, ratio, objective: SLO.availabilityRatio },
    });
  }

  async #breach(slo: SloName, alert: AlertInput): Promise<void> {
    this.#breaches.inc({ slo });
    this.deps.log.warn({ slo, tenantId: alert.tenantId, kind: alert.kind }, alert.message);
    try {
      await this.deps.alert(alert);
      await this.deps.audit.append(this.deps.db, { actor: 'system:slo-monitor', action: 'slo.breached', subject: alert.tenantId ? `tenant:${alert.tenantId}` : 'slo', payload: { slo, ...alert.details } });
    } catch (err) {
      this.deps.log.error({ err, slo }, 'could not raise the SLO breach alert');
    }
  }
}

function hours(seconds: number): string {
  return `${(seconds / 3600).toFixed(1)} h`;
}
