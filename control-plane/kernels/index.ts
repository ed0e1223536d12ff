/**
 * Drift kernels (issue #4) and the canary guard's statistics (issue #6):
 * pure functions on typed arrays, no dependencies. The tenant actor's drift
 * window and `tollgate drift compare` both use the first, the live canary
 * guard and `tollgate canary evaluate` the second, so offline and online
 * figures agree bit for bit.
 */
export {
  DEFAULT_BINS,
  EmptyInputError,
  NonFiniteValueError,
  baselineBins,
  histogram,
  mergeCounts,
  quantileEdges,
  type BaselineBins,
} from './binning';
export {
  DEFAULT_EPSILON,
  DEFAULT_PSI_THRESHOLDS,
  featureDrift,
  kl,
  psi,
  psiLevel,
  shares,
  type DriftLevel,
  type FeatureDrift,
  type PsiThresholds,
} from './divergence';
export { EMPTY_ERRORS, accumulateErrors, errorStats, finishErrors, mergeErrors, type ErrorAccumulator, type ErrorStats } from './errors';
export {
  DRIFT_SCORE_WINDOW_DAYS,
  SUSTAINED_BREACH_DAYS,
  driftScoreSeries,
  rollingMean,
  sustainedBreach,
  type BreachVerdict,
} from './rolling';
export * from './canary/index';
