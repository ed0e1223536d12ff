/**
 * Model promotion on the gate engine: SHADOW → CANARY waves → CHAMPION.
 * The model-version actor holds a `PromotionState`; a timer asks the host to
 * measure the arms (labelled errors, prediction drift, the CanaryGuard); each
 * measurement is a sample, then an evaluation; the engine's decisions become
 * port calls (transitions, traffic, alerts) and events. Pure.
 */
import type { TenantStage } from '../../db/schema/enums';
import type { Effect } from '../actor';
import { startRollout, stepRollout, type Decision, type RolloutInput, type RolloutSpec, type RolloutState } from '../gates/engine';

export interface PromotionConfig {
  /** Canary waves, percent of traffic (the default 1 → 10 → 50). */
  waves: number[];
  /** Time between measurements. */
  evaluateEveryMs: number;
  /** Evaluations in SHADOW before it may move on. */
  shadowCycles: number;
  /** PSI between champion and shadow predictions above which SHADOW fails. */
  shadowMaxPsi: number;
  /** Share of failed shadow servings (error, timeout) above which SHADOW fails. */
  shadowMaxErrorRate: number;
  /** Relative MAE degradation that rolls back (the CanaryGuard's breaker, 5 %). */
  maxRelativeDegradation: number;
  /**
   * Labelled samples per arm before the MAE breaker may fire. The rule
   * (> 5 % worse → roll back) applied from the first sample rolls back about
   * a third of canaries that are exactly as good as the control (the relative
   * MAE difference is that noisy); at 500 per arm a false rollback is rarer.
   */
  breakerMinSamplesPerArm: number;
  /** A wave undecided after this long is held for a person (INCONCLUSIVE). */
  waveMaxMs: number;
  /** No wave is left before this long. */
  waveMinMs: number;
  /** Labelled samples per arm the CanaryGuard needs to promote (≥ 1,000). */
  minSamplesPerArm: number;
  /** CONTROLLED_AUTONOMY's risk matrix (null in the other stages). */
  autonomy: { maxRelativeMaeDelta: number; minDaysBetweenPromotions: number } | null;
}

export const DEFAULT_PROMOTION_CONFIG: Readonly<PromotionConfig> = Object.freeze({
  waves: [1, 10, 50],
  evaluateEveryMs: 3_600_000,
  shadowCycles: 3,
  shadowMaxPsi: 0.25,
  shadowMaxErrorRate: 0.01,
  maxRelativeDegradation: 0.05,
  breakerMinSamplesPerArm: 500,
  waveMaxMs: 7 * 86_400_000,
  waveMinMs: 3_600_000,
  minSamplesPerArm: 1_000,
  autonomy: null,
});

/** A tenant's rollout policy and risk matrix (stored on the tenant) as the promotion's config. */
export function promotionConfigFor(
  stage: TenantStage,
  policy: { waves?: number[]; shadowCycles?: number } = {},
  matrix: { maxTrafficPercent?: number; maxRelativeMaeDelta?: number; minSamplesPerArm?: number; minDaysBetweenPromotions?: number } = {},
): PromotionConfig {
  let waves = policy.waves?.length ? [...policy.waves] : [...DEFAULT_PROMOTION_CONFIG.waves];
  const shadowCycles = policy.shadowCycles ?? DEFAULT_PROMOTION_CONFIG.shadowCycles;
  if (stage !== 'CONTROLLED_AUTONOMY') return { ...DEFAULT_PROMOTION_CONFIG, waves, shadowCycles };
  const cap = matrix.maxTrafficPercent ?? 50;
  waves = waves.filter((w) => w <= cap);
  if (waves.length === 0) waves = [Math.min(cap, DEFAULT_PROMOTION_CONFIG.waves[0]!)];
  return {
    ...DEFAULT_PROMOTION_CONFIG,
    waves,
    shadowCycles,
    minSamplesPerArm: Math.max(1_000, matrix.minSamplesPerArm ?? 1_000),
    autonomy: { maxRelativeMaeDelta: matrix.maxRelativeMaeDelta ?? 0, minDaysBetweenPromotions: matrix.minDaysBetweenPromotions ?? 7 },
  };
}

/** What one measurement reports (each a metric of the gate engine). */
export interface Measurement {
  /** Labelled samples per arm since the stage began. */
  nControl: number;
  nCandidate: number;
  /** (MAE_candidate − MAE_control) / MAE_control; absent without labels in both arms. */
  relativeDeltaMae?: number;
  /** Share of the shadow's reported requests that failed (error, timeout). */
  errorRate?: number;
  /** PSI between champion and candidate predictions (SHADOW). */
  predictionPsi?: number;
  /** The CanaryGuard's decision as numbers: 1 when it says PROMOTE / ROLLBACK. */
  guardPromote?: number;
  guardRollback?: number;
  /** This month's retraining budget left, in USD (the autonomy budget cap). */
  budgetLeftUsd?: number;
  /** Days since the tenant's last automatic promotion (the autonomy rate limit). */
  daysSinceLastPromotion?: number;
  /** The always-valid p-value. */
  pValue?: number;
}

export interface PromotionState {
  tenantId: string;
  tenantStage: TenantStage;
  config: PromotionConfig;
  spec: RolloutSpec;
  rollout: RolloutState;
  /** The CanaryGuard's sequential state of the current wave (reset per wave). */
  guardState: unknown;
  /** The last measurement's evidence, for the console. */
  lastEvidence: unknown;
}

export const PROMOTION_TIMER = 'promotion-measure';

/** The rollout of one version, from the tenant's stage and config. */
export function promotionSpec(stage: TenantStage, config: PromotionConfig): RolloutSpec {
  const shadow = {
    id: 'shadow',
    gates: [
      { id: 'cycles', description: `${config.shadowCycles} shadow evaluations`, metric: 'nControl', agg: 'count' as const, op: '>=' as const, threshold: config.shadowCycles },
      { id: 'prediction-drift', description: `mean PSI of champion vs shadow predictions ≤ ${config.shadowMaxPsi} over the last ${config.shadowCycles} cycles`, metric: 'predictionPsi', agg: 'mean' as const, window: { samples: config.shadowCycles }, op: '<=' as const, threshold: config.shadowMaxPsi, minSamples: config.shadowCycles },
    ],
    breakers: [
      { id: 'shadow-failures', description: `more than ${config.shadowMaxErrorRate * 100} % of shadow requests failed (error or timeout)`, metric: 'errorRate', agg: 'last' as const, op: '>' as const, threshold: config.shadowMaxErrorRate ?? 0.01, action: 'rollback' as const },
      { id: 'shadow-errors', description: `shadow MAE more than ${config.maxRelativeDegradation * 100} % worse than the champion's`, metric: 'relativeDeltaMae', agg: 'last' as const, op: '>' as const, threshold: config.maxRelativeDegradation, action: 'rollback' as const, minSamples: 1 },
    ],
    params: { state: 'SHADOW' },
  };
  const autonomy = config.autonomy;
  const waves = config.waves.map((percent, i) => ({
    id: `canary-${percent}`,
    gates: [
      { id: 'canary-guard', description: `the CanaryGuard says PROMOTE (p < 0.05 with ≥ ${config.minSamplesPerArm} labelled samples per arm)`, metric: 'guardPromote', agg: 'last' as const, op: '==' as const, threshold: 1 },
      // CONTROLLED_AUTONOMY: the risk matrix's error bound on top of the guard.
      ...(autonomy
        ? [{ id: 'risk-matrix-error', description: `relative MAE change ≤ ${autonomy.maxRelativeMaeDelta} (risk matrix)`, metric: 'relativeDeltaMae', agg: 'last' as const, op: '<=' as const, threshold: autonomy.maxRelativeMaeDelta }]
        : []),
    ],
    breakers: [
      { id: 'mae-degradation', description: `canary MAE more than ${config.maxRelativeDegradation * 100} % worse than control`, metric: 'guardRollback', agg: 'last' as const, op: '==' as const, threshold: 1, action: 'rollback' as const },
    ],
    minDurationMs: config.waveMinMs,
    maxDurationMs: config.waveMaxMs,
    params: { traffic: percent, wave: i + 1 },
  }));
  // The last step: a named MANAGER approval in SHADOW_MODE/PILOT; automatic
  // in CONTROLLED_AUTONOMY (the canary gates were its risk matrix).
  const champion = {
    id: 'champion',
    // CONTROLLED_AUTONOMY: at most one automatic promotion per minDaysBetweenPromotions.
    gates: autonomy
      ? [
          { id: 'promotion-rate', description: `no automatic promotion in the last ${autonomy.minDaysBetweenPromotions} days`, metric: 'daysSinceLastPromotion', agg: 'last' as const, op: '>=' as const, threshold: autonomy.minDaysBetweenPromotions },
          { id: 'budget-cap', description: "this month's retraining spend within the tenant's monthly budget", metric: 'budgetLeftUsd', agg: 'last' as const, op: '>=' as const, threshold: 0 },
        ]
      : [],
    approval: stage !== 'CONTROLLED_AUTONOMY',
    params: { state: 'CHAMPION' },
  };
  return { id: 'model-promotion', stages: [shadow, ...waves, champion] };
}

export function startPromotion(tenantId: string, stage: TenantStage, at: Date, config: PromotionConfig = promotionConfigFor(stage)): PromotionState {
  const spec = promotionSpec(stage, config);
  return { tenantId, tenantStage: stage, config, spec, rollout: startRollout(spec, at.toISOString()), guardState: null, lastEvidence: null };
}

/** Schedules the next measurement. */
export function measureTimer(p: PromotionState, now: Date): Effect {
  return { kind: 'schedule', timerId: PROMOTION_TIMER, at: new Date(now.getTime() + p.config.evaluateEveryMs).toISOString(), message: { type: 'measure' } as never };
}

/** What the host must measure now. */
export function measureRequest(p: PromotionState, modelId: string, now: Date) {
  const stage = p.spec.stages[p.rollout.stageIndex]!;
  return {
    modelId,
    tenantId: p.tenantId,
    stage: stage.id,
    since: p.rollout.stageEnteredAt,
    guardState: p.guardState,
    final: stage.maxDurationMs !== undefined && now.getTime() - Date.parse(p.rollout.stageEnteredAt) > stage.maxDurationMs,
    maxRelativeDegradation: p.config.maxRelativeDegradation,
    breakerMinSamplesPerArm: p.config.breakerMinSamplesPerArm ?? DEFAULT_PROMOTION_CONFIG.breakerMinSamplesPerArm,
    minSamplesPerArm: p.config.minSamplesPerArm ?? DEFAULT_PROMOTION_CONFIG.minSamplesPerArm,
  };
}

/** Feeds inputs to the rollout and turns its decisions into port calls. */
export function advancePromotion(p: PromotionState, modelId: string, inputs: RolloutInput[]): { promotion: PromotionState; effects: Effect[]; decisions: Decision[] } {
  let rollout = p.rollout;
  const decisions: Decision[] = [];
  const queue = [...inputs];
  for (let input = queue.shift(); input; input = queue.shift()) {
    const r = stepRollout(p.spec, rollout, input);
    rollout = r.state;
    decisions.push(...r.decisions);
    // A stage without gates (the approval step) is evaluated as soon as it is entered.
    for (const d of r.decisions) if (d.kind === 'enter' && d.stage.gates.length === 0) queue.push({ type: 'evaluate', at: input.at });
  }
  let guardState = p.guardState;
  const effects: Effect[] = [];
  const apply = (args: Record<string, unknown>): Effect => ({ kind: 'call', port: 'promotion', op: 'apply', args: { modelId, tenantId: p.tenantId, ...args } });
  for (const d of decisions) {
    switch (d.kind) {
      case 'enter':
        guardState = null; // each wave is a test of its own
        if (d.stage.params?.state === 'CHAMPION') effects.push(apply({ action: 'await', stage: d.stage.id }));
        else if (d.from === 'shadow') effects.push(apply({ action: 'canary', percent: d.stage.params?.traffic, stage: d.stage.id }));
        else effects.push(apply({ action: 'traffic', percent: d.stage.params?.traffic, stage: d.stage.id }));
        break;
      case 'await_approval':
        effects.push(apply({ action: 'awaitApproval', stage: d.stage }));
        break;
      case 'complete':
        effects.push(apply({ action: 'promote' }));
        break;
      case 'rollback':
        effects.push(apply({ action: 'fail', stage: d.stage, reason: d.reason, evidence: p.lastEvidence }));
        break;
      case 'pause':
      case 'hold':
        effects.push(apply({ action: 'hold', stage: d.stage, reason: d.reason, evidence: p.lastEvidence }));
        break;
      case 'killed':
        effects.push(apply({ action: 'fail', stage: d.stage, reason: `kill switch: ${d.reason}`, evidence: p.lastEvidence }));
        break;
    }
  }
  const live = rollout.status === 'running' || rollout.status === 'awaiting_approval';
  // New entries follow the old last one (the same object: the engine copies arrays, not entries).
  const lastOld = p.rollout.ledger[p.rollout.ledger.length - 1];
  const changedLedger = rollout.ledger.slice(lastOld ? rollout.ledger.lastIndexOf(lastOld) + 1 : 0);
  if (changedLedger.length) effects.push({ kind: 'call', port: 'promotion', op: 'ledger', args: { modelId, tenantId: p.tenantId, entries: changedLedger } });
  if (!live) effects.push({ kind: 'cancelTimer', timerId: PROMOTION_TIMER });
  return { promotion: { ...p, rollout, guardState }, effects, decisions };
}

/** The promotion as the console shows it. */
export function promotionView(p: PromotionState | null) {
  if (!p) return null;
  const stage = p.spec.stages[p.rollout.stageIndex]!;
  return {
    stage: stage.id,
    stageIndex: p.rollout.stageIndex,
    stages: p.spec.stages.map((s) => ({ id: s.id, gates: s.gates.map((g) => g.description), breakers: (s.breakers ?? []).map((b) => b.description), approval: s.approval ?? false, params: s.params ?? {} })),
    status: p.rollout.status,
    stageEnteredAt: p.rollout.stageEnteredAt,
    samples: p.rollout.samples.length,
    ledger: p.rollout.ledger.slice(-50),
    evidence: p.lastEvidence,
    config: p.config,
  };
}
