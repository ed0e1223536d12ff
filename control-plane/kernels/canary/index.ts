/**
 * CanaryGuard statistics (issue #6): Welch's t-test, Mann–Whitney U, an
 * always-valid sequential test and the guard's decision rules. Pure functions
 * on typed arrays, no dependencies; the live guard and
 * `tollgate canary evaluate` share them.
 */
export { EMPTY_ARM, NegativeErrorError, mergeArms, sampleVariance, summarizeArm, type ArmSummary } from './arms';
export {
  CanaryConfigError,
  DEFAULT_CANARY_GUARD_CONFIG,
  canaryGuard,
  canaryGuardConfig,
  decideCanary,
  type CanaryDecision,
  type CanaryEvaluation,
  type CanaryEvidence,
  type CanaryGuardConfig,
  type CanaryMode,
  type CanaryRule,
  type LookOptions,
} from './guard';
export { mannWhitneyU, type MannWhitneyResult } from './mann-whitney';
export {
  DEFAULT_MIXING_SD,
  INITIAL_SEQUENTIAL_STATE,
  LookOrderError,
  sequentialLook,
  type SequentialOptions,
  type SequentialResult,
  type SequentialState,
} from './sequential';
export { fillExponential, mulberry32 } from './sample';
export { NoConvergenceError, normalCdf, normalSf, regularizedBeta, studentTCdf, studentTSf } from './special';
export { welchTest, type WelchResult } from './welch';
