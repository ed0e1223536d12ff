import { EmptyInputError } from '../binning';
import { assertAbsoluteErrors } from './arms';
import { normalSf } from './special';

/** Mann–Whitney U test of the canary's absolute errors against the control's (normal approximation). */
export interface MannWhitneyResult {
  /** U of the canary: R_canary - n_canary(n_canary+1)/2, the number of (canary, control) pairs with canary > control, ties counting ½. */
  readonly statistic: number;
  /** n_canary·n_control/2, U's mean under the null. */
  readonly mean: number;
  /** U's standard deviation under the null, with the tie correction. */
  readonly sd: number;
  /** Each control error was multiplied by this before ranking (1 + margin in non-inferiority mode, else 1). */
  readonly controlScale: number;
  /** Two-sided p-value. */
  readonly pTwoSided: number;
  /** Small when the canary's errors tend to be smaller than the (scaled) control's: canary better. */
  readonly pLess: number;
  /** Small when the canary's errors tend to be larger: canary worse. */
  readonly pGreater: number;
}

/**
 * Mann–Whitney U with ranks averaged over ties and the normal approximation
 * with tie and continuity corrections, exactly as
 * `scipy.stats.mannwhitneyu(canary, control·controlScale, method='asymptotic', use_continuity=True)`:
 *   U₁ = R_canary - n_c(n_c+1)/2,  U₂ = n_c·n_k - U₁,  μ = n_c·n_k/2,
 *   σ² = n_c·n_k/12 · ((n+1) - Σ(t³-t)/(n(n-1)))   (t = size of each group of tied values, n = n_c + n_k),
 *   pGreater = P(Z > (U₁ - μ - ½)/σ),  pLess = P(Z > (U₂ - μ - ½)/σ),
 *   pTwoSided = min(1, 2·P(Z > (max(U₁,U₂) - μ - ½)/σ)).
 * When every value is tied (σ = 0) the p-values are NaN: there is no evidence either way.
 *
 * O(n log n): each arm is sorted on its own and the two are merged, so the
 * ranks of a tie group come out of one linear pass.
 */
export function mannWhitneyU(control: Float64Array, canary: Float64Array, controlScale = 1): MannWhitneyResult {
  if (!(controlScale > 0) || !Number.isFinite(controlScale)) throw new RangeError(`controlScale must be a finite number > 0, got ${controlScale}`);
  assertAbsoluteErrors(control, 'control');
  assertAbsoluteErrors(canary, 'canary');
  const nk = control.length;
  const nc = canary.length;
  if (nk === 0 || nc === 0) throw new EmptyInputError(`Mann–Whitney needs at least 1 value per arm, got control ${nk}, canary ${nc}`);
  // slice() copies a typed array with a memcpy; Float64Array.from iterates.
  const k = control.slice();
  if (controlScale !== 1) for (let i = 0; i < nk; i++) k[i]! *= controlScale;
  k.sort();
  const c = canary.slice().sort();

  let rankSumCanary = 0;
  let tieTerm = 0;
  let i = 0; // next control
  let j = 0; // next canary
  let below = 0; // values ranked so far
  while (i < nk || j < nc) {
    const v = i < nk && (j >= nc || k[i]! <= c[j]!) ? k[i]! : c[j]!;
    let tk = 0;
    let tc = 0;
    while (i < nk && k[i] === v) {
      i++;
      tk++;
    }
    while (j < nc && c[j] === v) {
      j++;
      tc++;
    }
    const t = tk + tc;
    // Ranks below + 1 … below + t share their mean, below + (t + 1)/2.
    rankSumCanary += tc * (below + (t + 1) / 2);
    tieTerm += t * t * t - t;
    below += t;
  }

  const n = nk + nc;
  const u1 = rankSumCanary - (nc * (nc + 1)) / 2;
  const u2 = nc * nk - u1;
  const mean = (nc * nk) / 2;
  const sd = Math.sqrt(((nc * nk) / 12) * (n + 1 - (n > 1 ? tieTerm / (n * (n - 1)) : 0)));
  if (!(sd > 0)) {
    const nan = Number.NaN;
    return { statistic: u1, mean, sd: 0, controlScale, pTwoSided: nan, pLess: nan, pGreater: nan };
  }
  const pGreater = normalSf((u1 - mean - 0.5) / sd);
  const pLess = normalSf((u2 - mean - 0.5) / sd);
  const pTwoSided = Math.min(1, 2 * normalSf((Math.max(u1, u2) - mean - 0.5) / sd));
  return { statistic: u1, mean, sd, controlScale, pTwoSided, pLess, pGreater };
}
