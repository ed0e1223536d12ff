import { summarizeArm, type ArmSummary } from './arms';
import { mannWhitneyU, type MannWhitneyResult } from './mann-whitney';
import { DEFAULT_MIXING_SD, INITIAL_SEQUENTIAL_STATE, sequentialLook, type SequentialResult, type SequentialState } from './sequential';
import { welchTest, type WelchResult } from './welch';

/**
 * CanaryGuard (issue #6): from the two arms' absolute errors on labelled
 * events, decide whether a canary is promoted, rolled back, kept running, or
 * handed to a human.
 *
 * Which test decides, and why:
 * - The SEQUENTIAL test (sequential.ts, an always-valid p-value) decides
 *   promotion. The guard looks again every time labels arrive; a fixed-sample
 *   test checked at every look would promote a useless canary far more often
 *   than α (the "peeking" problem: looking every 500 samples from 1,000 to
 *   5,000 per arm, a one-sided Welch test at 0.05 promotes about 16% of
 *   canaries that are no better, simulation.test.ts). The always-valid
 *   p-value keeps the false promotion rate ≤ α whatever the number of looks
 *   (about 1% in the same simulation).
 * - WELCH's t-test is reported as evidence: it tests the same quantity (the
 *   difference of mean absolute errors) and is what a reader will recompute,
 *   but it is valid for one look only.
 * - MANN–WHITNEY guards against heavy-tailed errors: means can be moved by a
 *   few huge errors, so a canary whose MAE is lower only because the control
 *   drew some outliers, while its typical error is worse, is not promoted.
 *   It vetoes (never causes) a promotion when it finds the canary's errors
 *   stochastically larger than the control's at α (in non-inferiority mode,
 *   larger than the control's scaled by 1 + margin). A veto can only lower
 *   the false promotion rate.
 * - The ROLLBACK breaker needs no test: relative MAE degradation above
 *   `maxRelativeDegradation` rolls back at once (the issue's rule). With few
 *   samples it fires on noise too; `breakerMinSamplesPerArm` can delay it.
 */

export type CanaryMode = 'superiority' | 'non-inferiority';
export type CanaryDecision = 'PROMOTE' | 'ROLLBACK' | 'CONTINUE' | 'INCONCLUSIVE';
/** The rule that produced the decision. */
export type CanaryRule = 'breaker' | 'min-samples' | 'sequential' | 'mann-whitney-veto' | 'not-significant';

export interface CanaryGuardConfig {
  /** Significance level of the deciding test. */
  alpha: number;
  /** No promotion below this many labelled samples in either arm. */
  minSamplesPerArm: number;
  /** superiority: canary MAE < control MAE; non-inferiority: canary MAE < (1 + margin)·control MAE. */
  mode: CanaryMode;
  /** Relative margin of non-inferiority (0.02 = 2% of the control's MAE). */
  nonInferiorityMargin: number;
  /** The breaker: (MAE_canary - MAE_control)/MAE_control above this → ROLLBACK. */
  maxRelativeDegradation: number;
  /** The breaker looks from this many samples per arm (1: at once, the rule). */
  breakerMinSamplesPerArm: number;
  /** Prior sd of the standardized effect in the sequential test (sequential.ts). */
  mixingSd: number;
}

/** The defaults. */
export const DEFAULT_CANARY_GUARD_CONFIG: Readonly<CanaryGuardConfig> = Object.freeze({
  alpha: 0.05,
  minSamplesPerArm: 1000,
  mode: 'superiority',
  nonInferiorityMargin: 0.02,
  maxRelativeDegradation: 0.05,
  breakerMinSamplesPerArm: 1,
  mixingSd: DEFAULT_MIXING_SD,
});

/** A configuration the guard refuses. */
export class CanaryConfigError extends RangeError {
  override readonly name = 'CanaryConfigError';
}

export interface CanaryEvidence {
  readonly control: ArmSummary;
  readonly canary: ArmSummary;
  /**
   * The Mann–Whitney result, or a function computing it: the test is only
   * consulted when a promotion is on the table, so a caller that looks very
   * often (the simulations) can skip the ranking at other looks.
   */
  readonly mannWhitney: MannWhitneyResult | null | ((controlScale: number) => MannWhitneyResult);
}

export interface CanaryEvaluation {
  decision: CanaryDecision;
  rule: CanaryRule;
  reason: string;
  mode: CanaryMode;
  alpha: number;
  n: { control: number; canary: number };
  mae: { control: number; canary: number };
  /** (MAE_canary - MAE_control)/MAE_control; negative is an improvement. */
  relativeDeltaMae: number;
  tests: {
    welch: WelchResult;
    /** Null when an arm is empty, or when a lazily supplied test was not needed. */
    mannWhitney: MannWhitneyResult | null;
    /** Null below the minimum sample: looks start counting there. */
    sequential: SequentialResult | null;
  };
  /** Pass it to the next look. */
  state: SequentialState;
}

export interface LookOptions {
  /** The canary's maximum duration is over: an undecided result becomes INCONCLUSIVE (hold, ask a human). */
  final?: boolean;
}

/** Fills in defaults and refuses impossible values. */
export function canaryGuardConfig(partial: Partial<CanaryGuardConfig> = {}): CanaryGuardConfig {
  const config: CanaryGuardConfig = { ...DEFAULT_CANARY_GUARD_CONFIG, ...partial };
  const { alpha, minSamplesPerArm, mode, nonInferiorityMargin, maxRelativeDegradation, breakerMinSamplesPerArm, mixingSd } = config;
  if (!(alpha > 0 && alpha < 1)) throw new CanaryConfigError(`alpha must be in (0, 1), got ${alpha}`);
  if (!Number.isSafeInteger(minSamplesPerArm) || minSamplesPerArm < 2) {
    throw new CanaryConfigError(`minSamplesPerArm must be an integer ≥ 2, got ${minSamplesPerArm}`);
  }
  if (mode !== 'superiority' && mode !== 'non-inferiority') throw new CanaryConfigError(`mode must be superiority or non-inferiority, got ${String(mode)}`);
  if (!(nonInferiorityMargin >= 0 && nonInferiorityMargin < 1)) throw new CanaryConfigError(`nonInferiorityMargin must be in [0, 1), got ${nonInferiorityMargin}`);
  if (!(maxRelativeDegradation > 0)) throw new CanaryConfigError(`maxRelativeDegradation must be > 0 (Infinity disables the breaker), got ${maxRelativeDegradation}`);
  if (!Number.isSafeInteger(breakerMinSamplesPerArm) || breakerMinSamplesPerArm < 1) {
    throw new CanaryConfigError(`breakerMinSamplesPerArm must be an integer ≥ 1, got ${breakerMinSamplesPerArm}`);
  }
  if (!(mixingSd > 0) || !Number.isFinite(mixingSd)) throw new CanaryConfigError(`mixingSd must be a finite number > 0, got ${mixingSd}`);
  return config;
}

/** The guard on raw absolute errors (cumulative per arm): the live guard and `tollgate canary evaluate` both call this. */
export function canaryGuard(
  control: Float64Array,
  canary: Float64Array,
  config: Partial<CanaryGuardConfig> = {},
  state: SequentialState = INITIAL_SEQUENTIAL_STATE,
  options: LookOptions = {},
): CanaryEvaluation {
  const full = canaryGuardConfig(config);
  const evidence: CanaryEvidence = {
    control: summarizeArm(control, 'control'),
    canary: summarizeArm(canary, 'canary'),
    mannWhitney: control.length > 0 && canary.length > 0 ? mannWhitneyU(control, canary, controlScale(full)) : null,
  };
  return decideCanary(evidence, full, state, options);
}

function controlScale(config: CanaryGuardConfig): number {
  return config.mode === 'non-inferiority' ? 1 + config.nonInferiorityMargin : 1;
}

/** The decision rules on summaries (see the module comment for which test decides). */
export function decideCanary(
  evidence: CanaryEvidence,
  partial: Partial<CanaryGuardConfig> = {},
  state: SequentialState = INITIAL_SEQUENTIAL_STATE,
  options: LookOptions = {},
): CanaryEvaluation {
  const config = canaryGuardConfig(partial);
  const { control, canary } = evidence;
  const { alpha, mode } = config;
  const margin = mode === 'non-inferiority' ? config.nonInferiorityMargin : 0;
  const n = { control: control.n, canary: canary.n };
  const mae = { control: control.n > 0 ? control.mean : Number.NaN, canary: canary.n > 0 ? canary.mean : Number.NaN };
  const relativeDeltaMae = relativeDelta(mae.control, mae.canary);
  // Δ₀ in the errors' units: the canary may be worse by `margin` of the control's MAE.
  const nullDifference = control.n > 0 ? margin * control.mean : 0;
  const welch = welchTest(control, canary, nullDifference);
  let mannWhitney = typeof evidence.mannWhitney === 'function' ? null : evidence.mannWhitney;
  const base = { mode, alpha, n, mae, relativeDeltaMae };
  const undecided = (rule: CanaryRule, reason: string, sequential: SequentialResult | null, next: SequentialState): CanaryEvaluation => ({
    decision: options.final ? 'INCONCLUSIVE' : 'CONTINUE',
    rule,
    reason: options.final ? `${reason}; the maximum duration is over: hold and ask a human` : reason,
    ...base,
    tests: { welch, mannWhitney, sequential },
    state: next,
  });

  const breakerArmed = control.n >= config.breakerMinSamplesPerArm && canary.n >= config.breakerMinSamplesPerArm;
  if (breakerArmed && relativeDeltaMae > config.maxRelativeDegradation) {
    return {
      decision: 'ROLLBACK',
      rule: 'breaker',
      reason: `canary MAE ${fmt(mae.canary)} is ${pct(relativeDeltaMae)} above control MAE ${fmt(mae.control)} (breaker at ${pct(config.maxRelativeDegradation)})`,
      ...base,
      tests: { welch, mannWhitney, sequential: null },
      state,
    };
  }

  if (control.n < config.minSamplesPerArm || canary.n < config.minSamplesPerArm) {
    return undecided('min-samples', `under the minimum sample: control ${control.n}, canary ${canary.n}, need ${config.minSamplesPerArm} per arm`, null, state);
  }

  const look = sequentialLook(control, canary, { nullDifference, mixingSd: config.mixingSd }, state);
  const sequential = look.result;
  const goal = mode === 'superiority' ? 'better than control' : `non-inferior to control (margin ${pct(margin)})`;
  if (!(sequential.pValue < alpha)) {
    return undecided('not-significant', `not yet shown ${goal}: always-valid p ${fmt(sequential.pValue)} ≥ alpha ${alpha} after ${looks(sequential.looks)}`, sequential, look.state);
  }
  // At a look alone Λ < 1 whenever Δ̂ ≥ Δ₀ (e^{w²/2}·Φ(-w) ≤ ½ for w ≥ 0), but the
  // running minimum may come from an earlier look: the estimate must be on the promoting side now too.
  if (!(sequential.difference < nullDifference)) {
    return undecided(
      'not-significant',
      `always-valid p ${fmt(sequential.pValue)} < alpha ${alpha} from an earlier look, but the canary is not ${goal} now (ΔMAE ${pct(relativeDeltaMae)})`,
      sequential,
      look.state,
    );
  }
  if (typeof evidence.mannWhitney === 'function') mannWhitney = evidence.mannWhitney(controlScale(config));
  if (mannWhitney && mannWhitney.pGreater < alpha) {
    return undecided(
      'mann-whitney-veto',
      `mean errors say ${goal} (always-valid p ${fmt(sequential.pValue)}), but Mann–Whitney finds the canary's errors stochastically larger (p ${fmt(mannWhitney.pGreater)}): heavy tails suspected`,
      sequential,
      look.state,
    );
  }
  return {
    decision: 'PROMOTE',
    rule: 'sequential',
    reason: `canary ${goal}: always-valid p ${fmt(sequential.pValue)} < alpha ${alpha} after ${looks(sequential.looks)}, MAE ${fmt(mae.canary)} vs ${fmt(mae.control)} (${pct(relativeDeltaMae)})`,
    ...base,
    tests: { welch, mannWhitney, sequential },
    state: look.state,
  };
}

/** (canary - control)/control; +∞ when a perfect control meets an imperfect canary, NaN when undefined. */
function relativeDelta(control: number, canary: number): number {
  if (Number.isNaN(control) || Number.isNaN(canary)) return Number.NaN;
  if (control === 0) return canary === 0 ? 0 : Infinity;
  return (canary - control) / control;
}

function looks(n: number): string {
  return n === 1 ? '1 look' : `${n} looks`;
}

function fmt(x: number): string {
  return Number.isFinite(x) ? Number(x.toPrecision(4)).toString() : String(x);
}

function pct(x: number): string {
  return Number.isFinite(x) ? `${x >= 0 ? '+' : ''}${Number((x * 100).toPrecision(3))}%` : String(x);
}

