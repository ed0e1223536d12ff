import { assertArmSize, type ArmSummary } from './arms';
import { logNormalSf } from './special';

/**
 * Sequential test: a one-sided mixture sequential probability ratio test
 * (mSPRT) and its always-valid p-value, after Johari, Pekelis & Walsh (2017),
 * "Always Valid Inference: Bringing Sequential Analysis to A/B Testing"
 * (arXiv:1512.04922), and Johari, Koomen, Pekelis & Walsh (2017), "Peeking at
 * A/B Tests" (KDD), §4.
 *
 * At each look, Δ̂ = MAE_canary - MAE_control is treated as N(Δ, v) with the
 * pooled variance plugged in:
 *   s²_p = (M2_canary + M2_control)/(n_c + n_k - 2),  v = s²_p·(1/n_c + 1/n_k).
 * The null is Δ ≥ Δ₀ (canary no better than control, or in non-inferiority
 * mode worse by the margin or more); the alternative Δ < Δ₀ is mixed with a
 * half-normal distribution: θ ~ N(Δ₀, τ²) restricted to θ < Δ₀ (density ×2).
 * The mixture likelihood ratio has a closed form. With r = τ²/v,
 * z = (Δ̂ - Δ₀)/√v and w = z·√(r/(1+r)):
 *   Λ = ∫ φ_v(Δ̂ - θ)/φ_v(Δ̂ - Δ₀) · 2·φ_τ(θ - Δ₀)·[θ < Δ₀] dθ
 *     = 2·(1+r)^(-½)·exp(w²/2)·Φ(-w).
 * (The two-sided normal mixture of the papers is (1+r)^(-½)·exp(w²/2); the
 * factor 2Φ(-w) is the posterior probability that θ < Δ₀, doubled.) For each
 * θ < Δ₀ ≤ Δ the likelihood ratio of θ against Δ₀ is a supermartingale, so Λ
 * is one too and Ville's inequality gives P(sup over looks Λ ≥ 1/α) ≤ α for
 * every Δ in the null, however often one looks. The always-valid p-value is
 * the running minimum p_t = min(p_{t-1}, 1/Λ_t), starting at 1.
 *
 * Mixing variance: τ = mixingSd·s_p, i.e. the standardized effect Δ/σ has
 * prior sd `mixingSd`, default 0.1. The effect the guard must find (issue
 * #6: a 10% MAE improvement when the errors' sd equals their mean) is
 * Δ/σ ≈ 0.1, and Johari et al. advise matching τ to the effects one expects.
 * τ changes power only, never the false-positive bound. With n per arm,
 * r = mixingSd²·n/2 (5 at n = 1,000, 25 at n = 5,000), and the z a single
 * look needs for 1/Λ < 0.05 is 2.77 to 2.89 for r from 2.25 to 25 (a
 * one-shot one-sided test needs 1.645: that is the price of looking as often
 * as one likes). Scaling τ with s_p makes the test invariant to the units of
 * the errors.
 *
 * Plugging in s_p (and, in non-inferiority mode, Δ₀ = margin·MAE_control) is
 * the usual large-sample approximation; the guard only looks from 1,000
 * samples per arm, and simulation.test.ts measures the false positive
 * rate with it.
 */

/** What the sequential test carries from one look to the next. Plain JSON. */
export interface SequentialState {
  /** Looks taken so far (at or above the minimum sample). */
  readonly looks: number;
  /** The always-valid p-value: min over looks of 1/Λ, 1 before any look. */
  readonly pValue: number;
  /** Sample sizes at the last look; data is cumulative, so they never go down. */
  readonly n: { readonly control: number; readonly canary: number };
}

/** Before the first look. */
export const INITIAL_SEQUENTIAL_STATE: SequentialState = Object.freeze({ looks: 0, pValue: 1, n: Object.freeze({ control: 0, canary: 0 }) });

/** The default prior sd of the standardized effect (see the module comment). */
export const DEFAULT_MIXING_SD = 0.1;

/** A look on fewer samples than the previous one: the state belongs to other data. */
export class LookOrderError extends RangeError {
  override readonly name = 'LookOrderError';
}

export interface SequentialResult {
  /** Δ̂ = MAE_canary - MAE_control */
  readonly difference: number;
  /** Δ₀, the boundary of the null hypothesis. */
  readonly nullDifference: number;
  /** v, the plug-in variance of Δ̂. */
  readonly variance: number;
  /** τ, the mixing sd in the errors' units. */
  readonly tau: number;
  /** z = (Δ̂ - Δ₀)/√v */
  readonly z: number;
  /** Λ at this look. */
  readonly likelihoodRatio: number;
  /** min(1, 1/Λ) at this look alone. */
  readonly pValueThisLook: number;
  /** The always-valid p-value over every look so far, this one included. */
  readonly pValue: number;
  readonly looks: number;
}

export interface SequentialOptions {
  /** Δ₀ in the errors' units: 0 for superiority, margin·MAE_control for non-inferiority. */
  nullDifference: number;
  /** Prior sd of the standardized effect. */
  mixingSd?: number;
}

/** Takes one look: Λ on the cumulative summaries, and the updated running p-value. */
export function sequentialLook(
  control: ArmSummary,
  canary: ArmSummary,
  options: SequentialOptions,
  state: SequentialState = INITIAL_SEQUENTIAL_STATE,
): { result: SequentialResult; state: SequentialState } {
  const mixingSd = options.mixingSd ?? DEFAULT_MIXING_SD;
  if (!(mixingSd > 0) || !Number.isFinite(mixingSd)) throw new RangeError(`mixingSd must be a finite number > 0, got ${mixingSd}`);
  if (!Number.isFinite(options.nullDifference)) throw new RangeError(`nullDifference must be finite, got ${options.nullDifference}`);
  assertArmSize(control, 2, 'the sequential test');
  assertArmSize(canary, 2, 'the sequential test');
  if (control.n < state.n.control || canary.n < state.n.canary) {
    throw new LookOrderError(
      `a look on control ${control.n}, canary ${canary.n} samples after one on ${state.n.control}, ${state.n.canary}: samples are cumulative`,
    );
  }
  const pooledVariance = (control.m2 + canary.m2) / (control.n + canary.n - 2);
  const inverseN = 1 / control.n + 1 / canary.n;
  const variance = pooledVariance * inverseN;
  const r = (mixingSd * mixingSd) / inverseN;
  const difference = canary.mean - control.mean;
  const offset = difference - options.nullDifference;
  // With v = 0 (both arms constant) z is ±∞, or 0 when Δ̂ = Δ₀ exactly.
  const z = variance > 0 ? offset / Math.sqrt(variance) : offset === 0 ? 0 : offset * Infinity;
  const w = z * Math.sqrt(r / (1 + r));
  const logLambda = w === -Infinity ? Infinity : w === Infinity ? -Infinity : Math.LN2 - 0.5 * Math.log1p(r) + (w * w) / 2 + logNormalSf(w);
  const likelihoodRatio = Math.exp(logLambda);
  const pValueThisLook = Math.min(1, Math.exp(-logLambda));
  const pValue = Math.min(state.pValue, pValueThisLook);
  const looks = state.looks + 1;
  return {
    result: {
      difference,
      nullDifference: options.nullDifference,
      variance,
      tau: mixingSd * Math.sqrt(pooledVariance),
      z,
      likelihoodRatio,
      pValueThisLook,
      pValue,
      looks,
    },
    state: { looks, pValue, n: { control: control.n, canary: canary.n } },
  };
}
