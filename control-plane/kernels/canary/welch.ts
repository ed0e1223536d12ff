import { sampleVariance, type ArmSummary } from './arms';
import { studentTCdf, studentTSf } from './special';

/** Welch's unequal-variances t-test of mean(canary) - mean(control) against `nullDifference`. */
export interface WelchResult {
  /** mean(canary) - mean(control) */
  readonly difference: number;
  /** The difference under the null hypothesis (0, or the non-inferiority margin in absolute units). */
  readonly nullDifference: number;
  /** Standard error √(s²_canary/n_canary + s²_control/n_control). */
  readonly standardError: number;
  /** t = (difference - nullDifference) / standardError */
  readonly statistic: number;
  /** Welch–Satterthwaite degrees of freedom. */
  readonly df: number;
  /** P(|T| ≥ |t|) */
  readonly pTwoSided: number;
  /** P(T ≤ t): small when the canary's errors are smaller (alternative "less": canary better). */
  readonly pLess: number;
  /** P(T ≥ t): small when the canary's errors are larger. */
  readonly pGreater: number;
}

/**
 * Welch's t-test on two samples of absolute errors:
 *   se² = s²_c/n_c + s²_k/n_k,  t = (x̄_c - x̄_k - Δ₀)/se,
 *   df = se⁴ / ((s²_c/n_c)²/(n_c-1) + (s²_k/n_k)²/(n_k-1))   (Welch–Satterthwaite),
 * p-values from Student's t with that (fractional) df. This is
 * `scipy.stats.ttest_ind(canary - Δ₀, control, equal_var=False)`.
 *
 * Undefined cases give NaN statistic and p-values rather than a throw, so a
 * report can still be printed: fewer than 2 values in an arm, or both arms
 * constant (se = 0). The guard never decides on Welch (see guard.ts).
 */
export function welchTest(control: ArmSummary, canary: ArmSummary, nullDifference = 0): WelchResult {
  const difference = canary.mean - control.mean;
  const vc = sampleVariance(canary) / canary.n;
  const vk = sampleVariance(control) / control.n;
  const se2 = vc + vk;
  const standardError = Math.sqrt(se2);
  const df = (se2 * se2) / ((vc * vc) / (canary.n - 1) + (vk * vk) / (control.n - 1));
  if (!(se2 > 0) || !(df > 0)) {
    const nan = Number.NaN;
    return { difference, nullDifference, standardError, statistic: nan, df: nan, pTwoSided: nan, pLess: nan, pGreater: nan };
  }
  const statistic = (difference - nullDifference) / standardError;
  const pGreater = studentTSf(statistic, df);
  const pLess = studentTCdf(statistic, df);
  const pTwoSided = Math.min(1, 2 * Math.min(pLess, pGreater));
  return { difference, nullDifference, standardError, statistic, df, pTwoSided, pLess, pGreater };
}
