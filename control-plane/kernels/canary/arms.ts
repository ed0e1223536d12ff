import { EmptyInputError, NonFiniteValueError } from '../binning';

/**
 * One arm of a canary as the mean-based tests see it: count, mean and the sum
 * of squared deviations (Welford's M2). Mergeable with Chan's formula, so a
 * live guard can fold in each batch of labelled events without keeping them.
 */
export interface ArmSummary {
  readonly n: number;
  readonly mean: number;
  /** Σ (x - mean)² */
  readonly m2: number;
}

/** The identity of `mergeArms`. */
export const EMPTY_ARM: ArmSummary = Object.freeze({ n: 0, mean: 0, m2: 0 });

/**
 * Checks that every value is an absolute error: finite and ≥ 0. Throws
 * `NonFiniteValueError` (NaN, ±Infinity) or `NegativeErrorError` naming the index.
 */
export function assertAbsoluteErrors(errors: Float64Array, arm: string): void {
  for (let i = 0; i < errors.length; i++) {
    const v = errors[i]!;
    if (!Number.isFinite(v)) throw new NonFiniteValueError(i, v, `${arm} absolute error`);
    if (v < 0) throw new NegativeErrorError(i, v, arm);
  }
}

/** An absolute error below zero: the caller passed signed errors or raw values. */
export class NegativeErrorError extends RangeError {
  override readonly name = 'NegativeErrorError';
  constructor(
    readonly index: number,
    readonly value: number,
    readonly arm: string,
  ) {
    super(`${arm} absolute error at index ${index} is ${value}; absolute errors are ≥ 0`);
  }
}

/** Count, mean and M2 of one arm's absolute errors (two passes: the mean, then squared deviations from it). */
export function summarizeArm(errors: Float64Array, arm = 'arm'): ArmSummary {
  assertAbsoluteErrors(errors, arm);
  const n = errors.length;
  if (n === 0) return EMPTY_ARM;
  let sum = 0;
  for (let i = 0; i < n; i++) sum += errors[i]!;
  const mean = sum / n;
  let m2 = 0;
  for (let i = 0; i < n; i++) {
    const d = errors[i]! - mean;
    m2 += d * d;
  }
  return { n, mean, m2 };
}

/**
 * Chan et al.'s pairwise merge: n = nₐ + n_b, δ = mean_b - meanₐ,
 * mean = meanₐ + δ·n_b/n, M2 = M2ₐ + M2_b + δ²·nₐ·n_b/n.
 */
export function mergeArms(a: ArmSummary, b: ArmSummary): ArmSummary {
  if (a.n === 0) return b;
  if (b.n === 0) return a;
  const n = a.n + b.n;
  const delta = b.mean - a.mean;
  return { n, mean: a.mean + (delta * b.n) / n, m2: a.m2 + b.m2 + (delta * delta * a.n * b.n) / n };
}

/** Unbiased sample variance M2/(n-1); NaN below two values. */
export function sampleVariance(arm: ArmSummary): number {
  return arm.n >= 2 ? arm.m2 / (arm.n - 1) : Number.NaN;
}

/** Throws `EmptyInputError` when an arm has fewer than `min` values. */
export function assertArmSize(arm: ArmSummary, min: number, what: string): void {
  if (arm.n < min) throw new EmptyInputError(`${what} needs at least ${min} values per arm, got ${arm.n}`);
}
