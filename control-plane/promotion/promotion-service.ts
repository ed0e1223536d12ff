import { and, eq, gte, sql } from 'drizzle-orm';
import { rowsOf } from '../../db/rows';
import type { Logger } from 'pino';
import type { LedgerEntry } from '../../actors/gates/engine';
import type { Principal } from '../../actors/principal';
import type { Db } from '../../db/client';
import { learningEvents, modelVersions, tenants } from '../../db/schema';
import type { CanaryVerdict, ModelState, ModelVersionId, TenantId } from '../../db/schema/enums';
import { encodeJson, PROTOCOL_VERSION } from '../actor-host/protocol';
import type { AlertInput } from '../alerts/raise-alert';
import type { AuditLog } from '../audit/audit-store';
import { canaryGuard, INITIAL_SEQUENTIAL_STATE, type SequentialState } from '../kernels/canary';
import { DEFAULT_EPSILON, histogram, psi, quantileEdges, shares } from '../kernels';
import type { Bus } from '../ports/bus';
import type { Clock } from '../ports/clock';
import type { RegistryService } from '../registry/registry-service';

/** Who acts when the gates decide. */
export const PROMOTION: Principal = { kind: 'system', name: 'promotion', role: 'MANAGER' };
/** Labelled samples per arm before a shadow's MAE is compared at all (noise otherwise). */
const SHADOW_MIN_LABELS = 100;
const SHADOW_MIN_PREDICTIONS = 50;

export interface MeasureArgs {
  modelId: string;
  tenantId: string;
  stage: string;
  since: string;
  guardState: SequentialState | null;
  final: boolean;
  maxRelativeDegradation: number;
  breakerMinSamplesPerArm: number;
  minSamplesPerArm: number;
}

/**
 * The promotion pipeline's I/O: measuring the arms (labelled errors since the
 * stage began, champion vs candidate prediction drift, the CanaryGuard) and
 * carrying out the gate engine's decisions through the registry.
 */
export class PromotionService {
  constructor(
    private readonly deps: { db: Db; registry: RegistryService; audit: AuditLog; bus: Bus; clock: Clock; prefix: string; log: Logger; alert: (a: AlertInput) => Promise<unknown>; monthlyBudgetUsd?: number; onCanaryPValue?: (tenantId: string, modelId: string, pValue: number) => void },
  ) {}

  /** Measures in the background and answers the model actor with `measured`. */
  measure(args: MeasureArgs): void {
    void this.#measure(args)
      .then((m) => this.#tell(args.modelId, { type: 'measured', stage: args.stage, at: this.deps.clock.now().toISOString(), ...m }))
      .catch((err: unknown) => this.deps.log.warn({ err, modelId: args.modelId, tenantId: args.tenantId }, 'could not measure a promotion; the next timer tries again'));
  }

  async #measure(args: MeasureArgs): Promise<{ values: Record<string, number>; guardState: SequentialState | null; evidence: unknown }> {
    const { db } = this.deps;
    const [tenant] = await db.select({ championId: tenants.championId }).from(tenants).where(eq(tenants.id, args.tenantId as TenantId));
    const control = tenant?.championId ?? null;
    const since = new Date(args.since);
    const arm = async (id: string) =>
      db
        .select({ prediction: learningEvents.prediction, actual: learningEvents.actual, outcome: learningEvents.outcome })
        .from(learningEvents)
        .where(and(eq(learningEvents.tenantId, args.tenantId as TenantId), eq(learningEvents.modelVersionId, id as ModelVersionId), eq(learningEvents.isLabel, false), gte(learningEvents.occurredAt, since)));
    const candidateRows = await arm(args.modelId);
    const controlRows = control ? await arm(control) : [];
    const errors = (rows: Array<{ prediction: number | null; actual: number | null; outcome: string | null }>) =>
      Float64Array.from(rows.filter((r) => r.actual !== null && r.prediction !== null).map((r) => Math.abs(r.prediction! - r.actual!)));
    const ctlErr = errors(controlRows);
    const candErr = errors(candidateRows);
    const values: Record<string, number> = { nControl: ctlErr.length, nCandidate: candErr.length };
    const mean = (xs: Float64Array) => xs.reduce((a, b) => a + b, 0) / xs.length;

    if (args.stage === 'champion') {
      // The autonomy rate limit: days since this tenant's last automatic promotion.
      const [last] = rowsOf<{ at: string | Date | null }>(
        await db.execute(sql`select max(t.at) as at from transitions t join model_versions m on m.id = t.model_version_id
                              where m.tenant_id = ${args.tenantId} and t.to_state = 'CHAMPION' and t.actor = ${'system:promotion'}`),
      );
      const lastAt = last?.at ? new Date(last.at).getTime() : null;
      values.daysSinceLastPromotion = lastAt === null ? 1e6 : (this.deps.clock.now().getTime() - lastAt) / 86_400_000;
      // The budget cap: this month's retraining spend within the tenant's monthly budget.
      const now = this.deps.clock.now();
      const monthStart = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1));
      const [spent] = rowsOf<{ usd: number | string | null }>(
        await db.execute(sql`select coalesce(sum(cost_usd), 0) as usd from retrain_runs where tenant_id = ${args.tenantId} and started_at >= ${monthStart.toISOString()}::timestamptz`),
      );
      const budget = this.deps.monthlyBudgetUsd ?? 500;
      values.budgetLeftUsd = budget - Number(spent?.usd ?? 0);
      return {
        values,
        guardState: null,
        evidence: { stage: args.stage, lastAutomaticPromotion: lastAt === null ? null : new Date(lastAt).toISOString(), daysSinceLastPromotion: values.daysSinceLastPromotion, budgetUsd: budget, budgetLeftUsd: values.budgetLeftUsd },
      };
    }

    if (args.stage === 'shadow') {
      // The shadow's failed servings (error, timeout) among its reported requests.
      if (candidateRows.length >= SHADOW_MIN_PREDICTIONS) values.errorRate = candidateRows.filter((r) => r.outcome !== null).length / candidateRows.length;
      if (ctlErr.length >= SHADOW_MIN_LABELS && candErr.length >= SHADOW_MIN_LABELS && mean(ctlErr) > 0) values.relativeDeltaMae = (mean(candErr) - mean(ctlErr)) / mean(ctlErr);
      const ctlPred = Float64Array.from(controlRows.map((r) => r.prediction ?? Number.NaN).filter(Number.isFinite));
      const candPred = Float64Array.from(candidateRows.map((r) => r.prediction ?? Number.NaN).filter(Number.isFinite));
      if (ctlPred.length >= SHADOW_MIN_PREDICTIONS && candPred.length >= SHADOW_MIN_PREDICTIONS) {
        const edges = quantileEdges(ctlPred, 10);
        values.predictionPsi = psi(shares(histogram(ctlPred, edges), DEFAULT_EPSILON), shares(histogram(candPred, edges), DEFAULT_EPSILON));
      }
      return { values, guardState: null, evidence: { stage: args.stage, control, ...values } };
    }

    const ev = canaryGuard(ctlErr, candErr, { maxRelativeDegradation: args.maxRelativeDegradation, breakerMinSamplesPerArm: args.breakerMinSamplesPerArm, minSamplesPerArm: args.minSamplesPerArm ?? 1000 }, args.guardState ?? INITIAL_SEQUENTIAL_STATE, { final: args.final });
    values.guardPromote = ev.decision === 'PROMOTE' ? 1 : 0;
    values.guardRollback = ev.decision === 'ROLLBACK' ? 1 : 0;
    values.pValue = ev.state.pValue;
    if (Number.isFinite(ev.state.pValue)) this.deps.onCanaryPValue?.(args.tenantId, args.modelId, ev.state.pValue);
    if (Number.isFinite(ev.relativeDeltaMae)) values.relativeDeltaMae = ev.relativeDeltaMae;
    const evidence = {
      stage: args.stage,
      control,
      decision: ev.decision,
      rule: ev.rule,
      reason: ev.reason,
      n: ev.n,
      mae: ev.mae,
      relativeDeltaMae: Number.isFinite(ev.relativeDeltaMae) ? ev.relativeDeltaMae : null,
      pValue: ev.state.pValue,
      welchPLess: ev.tests.welch.pLess,
      mannWhitneyPGreater: ev.tests.mannWhitney?.pGreater ?? null,
    };
    return { values, guardState: ev.state, evidence: JSON.parse(JSON.stringify(evidence)) as unknown };
  }

  /** Carries out one decision of the gate engine. */
  async apply(args: { modelId: string; tenantId: string; action: string; percent?: number; stage?: string; reason?: string; evidence?: unknown }): Promise<Array<{ tenantId: string; type: string; data: unknown }>> {
    const { registry } = this.deps;
    const { modelId, tenantId } = args;
    const event = (type: string, data: Record<string, unknown>) => ({ tenantId, type, data: { modelVersionId: modelId, tenantId, ...data } });
    switch (args.action) {
      case 'canary': {
        let m = await this.#moveTo(modelId, 'CANARY', `gates passed in SHADOW; canary wave ${args.stage}`);
        if (args.percent !== undefined && m.canaryTrafficPercent !== args.percent) m = await registry.setCanaryTraffic(modelId, { percent: args.percent, reason: `wave ${args.stage}` }, PROMOTION);
        return [{ tenantId, type: 'model.transitioned', data: m }, event('promotion.stage', { stage: args.stage, traffic: args.percent })];
      }
      case 'traffic': {
        const m = await registry.setCanaryTraffic(modelId, { percent: args.percent!, reason: `gates passed; wave ${args.stage}` }, PROMOTION);
        return [{ tenantId, type: 'canary.traffic', data: m }, event('promotion.stage', { stage: args.stage, traffic: args.percent })];
      }
      case 'await':
        await this.#verdict(modelId, 'PASSED');
        return [event('promotion.stage', { stage: args.stage })];
      case 'awaitApproval':
        return [event('promotion.awaiting_approval', { stage: args.stage })];
      case 'promote': {
        await this.#verdict(modelId, 'PASSED');
        const m = await this.#moveTo(modelId, 'CHAMPION', 'promotion complete: canary passed and approved');
        return [{ tenantId, type: 'model.transitioned', data: m }, event('promotion.completed', {})];
      }
      case 'fail': {
        const model = await registry.getModel(modelId);
        const canary = model.state === 'CANARY';
        await this.#verdict(modelId, 'FAILED');
        const failed = await this.#moveTo(modelId, 'FAILED', args.reason ?? 'promotion failed');
        await this.deps.alert({
          tenantId,
          severity: canary ? 'P2' : 'P3',
          kind: canary ? 'canary.failed' : 'shadow.failed',
          dedupeKey: `promotion-failed:${modelId}`,
          message: `${canary ? 'Canary' : 'Shadow'} ${model.label} of tenant ${tenantId} failed and is out of traffic: ${args.reason ?? ''}`,
          details: { modelVersionId: modelId, stage: args.stage ?? null, reason: args.reason ?? null, evidence: args.evidence ?? null },
        });
        return [{ tenantId, type: 'model.transitioned', data: failed }, event('promotion.failed', { stage: args.stage, reason: args.reason, evidence: args.evidence ?? null })];
      }
      case 'hold': {
        await this.#verdict(modelId, 'INCONCLUSIVE');
        await this.deps.alert({
          tenantId,
          severity: 'P3',
          kind: 'promotion.held',
          dedupeKey: `promotion-held:${modelId}:${args.stage}`,
          message: `The promotion of ${modelId} (tenant ${tenantId}) is held at ${args.stage}: ${args.reason ?? ''}; a person decides (resume or kill)`,
          details: { modelVersionId: modelId, stage: args.stage ?? null, reason: args.reason ?? null, evidence: args.evidence ?? null },
        });
        return [event('promotion.held', { stage: args.stage, reason: args.reason })];
      }
      default:
        throw new Error(`promotion has no action ${args.action}`);
    }
  }

  /** Writes the rollout's new ledger entries to the audit log. */
  async ledger(modelId: string, tenantId: string, entries: LedgerEntry[]): Promise<void> {
    for (const e of entries) {
      await this.deps.audit.append(this.deps.db, { actor: e.by, action: `promotion.${e.kind}`, subject: `model:${modelId}`, payload: { tenantId, ...e } });
    }
  }

  /** A lifecycle move on the gate engine's behalf; nothing when already there (a retried decision). */
  async #moveTo(modelId: string, to: ModelState, reason: string) {
    const model = await this.deps.registry.getModel(modelId);
    if (model.state === to) return model;
    return this.deps.registry.transition(modelId, { to, reason, idempotencyKey: `promotion:${modelId}:${to}`, expectedRevision: model.revision }, PROMOTION);
  }

  async #verdict(modelId: string, verdict: CanaryVerdict): Promise<void> {
    await this.deps.db.update(modelVersions).set({ canaryVerdict: verdict }).where(eq(modelVersions.id, modelId as ModelVersionId));
  }

  #tell(modelId: string, message: Record<string, unknown>): void {
    this.deps.bus.publish(`${this.deps.prefix}.model.${modelId}.cmd`, encodeJson({ v: PROTOCOL_VERSION, ...message }));
  }
}
