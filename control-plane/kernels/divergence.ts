import { EmptyInputError, histogram, type BaselineBins } from './binning';

/**
 * Divergences between two binned distributions: smoothed shares, PSI and KL.
 * Natural logarithms throughout.
 */

/** Share given to an empty bin before renormalising (Evidently's 0.0001). */
export const DEFAULT_EPSILON = 1e-4;

/** PSI thresholds: the defaults. A score strictly above a threshold reaches its level. */
export const DEFAULT_PSI_THRESHOLDS: Readonly<PsiThresholds> = Object.freeze({ warn: 0.1, critical: 0.25 });

export interface PsiThresholds {
  warn: number;
  critical: number;
}

export type DriftLevel = 'ok' | 'warn' | 'critical';

/**
 * Bin shares with empty bins smoothed, summing to 1 (up to rounding).
 *
 * Exactly: with n = Σ counts and z empty bins, a non-empty bin gets
 * count / (n·(1 + ε·z)) and an empty one ε / (1 + ε·z); that is, each empty
 * bin is given the share ε, then all shares are divided by their total
 * 1 + ε·z. With no empty bin the shares are count / n exactly.
 *
 * Evidently (`get_binned_data`, feel_zeroes) also puts 0.0001 in empty bins,
 * but does not renormalise, and uses min(non-zero share)/10^6 instead when
 * some share is ≤ 0.0001. Renormalising keeps the shares a distribution, so
 * KL ≥ 0 holds and PSI = KL(p‖q) + KL(q‖p) for the same shares.
 */
export function shares(counts: Uint32Array, epsilon: number = DEFAULT_EPSILON): Float64Array {
  if (!(epsilon > 0 && epsilon < 1)) throw new RangeError(`epsilon must be in (0, 1), got ${epsilon}`);
  let n = 0;
  let empty = 0;
  for (let i = 0; i < counts.length; i++) {
    n += counts[i]!;
    if (counts[i] === 0) empty++;
  }
  if (n === 0) throw new EmptyInputError('cannot take shares of a histogram with no values');
  const scale = 1 + epsilon * empty;
  const denominator = n * scale;
  const smoothed = epsilon / scale;
  const out = new Float64Array(counts.length);
  for (let i = 0; i < counts.length; i++) out[i] = counts[i] === 0 ? smoothed : counts[i]! / denominator;
  return out;
}

/** Population Stability Index: Σ (a - e)·ln(a / e) over bins. Needs positive shares (use `shares`). */
export function psi(expectedShares: Float64Array, actualShares: Float64Array): number {
  assertComparable(expectedShares, actualShares);
  let sum = 0;
  for (let i = 0; i < expectedShares.length; i++) {
    const e = expectedShares[i]!;
    const a = actualShares[i]!;
    sum += (a - e) * Math.log(a / e);
  }
  return sum;
}

/** Kullback–Leibler divergence KL(p‖q) = Σ p·ln(p / q). Needs positive shares (use `shares`). */
export function kl(p: Float64Array, q: Float64Array): number {
  assertComparable(p, q);
  let sum = 0;
  for (let i = 0; i < p.length; i++) {
    const pi = p[i]!;
    sum += pi * Math.log(pi / q[i]!);
  }
  return sum;
}

function assertComparable(a: Float64Array, b: Float64Array): void {
  if (a.length !== b.length) throw new RangeError(`share vectors differ in length: ${a.length} and ${b.length}`);
  if (a.length === 0) throw new EmptyInputError('share vectors are empty');
  for (let i = 0; i < a.length; i++) {
    // Written to be false for NaN too.
    if (!(a[i]! > 0 && b[i]! > 0 && a[i]! < Infinity && b[i]! < Infinity)) {
      throw new RangeError(`shares must be positive and finite (smooth empty bins with shares()); bin ${i} has ${a[i]} and ${b[i]}`);
    }
  }
}

/** 'critical' when psi > critical, 'warn' when psi > warn, else 'ok'. */
export function psiLevel(score: number, thresholds: Readonly<PsiThresholds> = DEFAULT_PSI_THRESHOLDS): DriftLevel {
  if (score > thresholds.critical) return 'critical';
  if (score > thresholds.warn) return 'warn';
  return 'ok';
}

/** One feature's drift against its baseline, as the engine and `tollgate drift compare` report it. */
export interface FeatureDrift {
  edges: Float64Array;
  baselineCounts: Uint32Array;
  currentCounts: Uint32Array;
  /** PSI(baseline shares, current shares). */
  psi: number;
  /** KL(baseline‖current), the direction Evidently's kl_div reports (scipy.stats.entropy(reference, current)). */
  kl: number;
}

/** Bins `current` on the baseline's edges and compares the smoothed shares. */
export function featureDrift(baseline: BaselineBins, current: Float64Array, epsilon: number = DEFAULT_EPSILON): FeatureDrift {
  const currentCounts = histogram(current, baseline.edges);
  const expected = shares(baseline.counts, epsilon);
  const actual = shares(currentCounts, epsilon);
  return {
    edges: baseline.edges,
    baselineCounts: baseline.counts,
    currentCounts,
    psi: psi(expected, actual),
    kl: kl(expected, actual),
  };
}
