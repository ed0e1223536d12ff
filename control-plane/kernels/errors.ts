import { NonFiniteValueError } from './binning';

/**
 * Prediction error statistics (MAE, RMSE, bias) and their mergeable form:
 * daily buckets hold an `ErrorAccumulator` of plain sums, windows merge them,
 * and `finishErrors` turns any merge into the statistics.
 *
 * The error is pred - actual, so a positive bias means over-prediction.
 */

export interface ErrorAccumulator {
  readonly n: number;
  /** Σ |pred - actual| */
  readonly sumAbs: number;
  /** Σ (pred - actual)² */
  readonly sumSq: number;
  /** Σ (pred - actual) */
  readonly sumSigned: number;
}

export interface ErrorStats {
  n: number;
  /** Mean absolute error; NaN when n = 0 (as are rmse and bias). */
  mae: number;
  /** Root mean squared error. */
  rmse: number;
  /** Mean signed error, pred - actual. */
  bias: number;
}

/** The identity of `mergeErrors`. */
export const EMPTY_ERRORS: ErrorAccumulator = Object.freeze({ n: 0, sumAbs: 0, sumSq: 0, sumSigned: 0 });

/** Sums of the errors of paired predictions and actuals. Throws on a non-finite value. */
export function accumulateErrors(pred: Float64Array, actual: Float64Array): ErrorAccumulator {
  if (pred.length !== actual.length) throw new RangeError(`pred has ${pred.length} values and actual ${actual.length}`);
  let sumAbs = 0;
  let sumSq = 0;
  let sumSigned = 0;
  for (let i = 0; i < pred.length; i++) {
    const p = pred[i]!;
    const a = actual[i]!;
    const err = p - a;
    if (!Number.isFinite(err)) throw nonFinite(i, p, a);
    sumAbs += Math.abs(err);
    sumSq += err * err;
    sumSigned += err;
  }
  return { n: pred.length, sumAbs, sumSq, sumSigned };
}

function nonFinite(i: number, p: number, a: number): RangeError {
  if (!Number.isFinite(p)) return new NonFiniteValueError(i, p, 'prediction');
  if (!Number.isFinite(a)) return new NonFiniteValueError(i, a, 'actual');
  return new RangeError(`the error at index ${i} overflows: ${p} - ${a}`);
}

/**
 * Field-wise sum. Commutative exactly; associative exactly on the count and up
 * to floating-point rounding on the sums (exactly while the sums are exact,
 * e.g. integer errors below 2^53).
 */
export function mergeErrors(a: ErrorAccumulator, b: ErrorAccumulator): ErrorAccumulator {
  return { n: a.n + b.n, sumAbs: a.sumAbs + b.sumAbs, sumSq: a.sumSq + b.sumSq, sumSigned: a.sumSigned + b.sumSigned };
}

/** The statistics of an accumulator. */
export function finishErrors(acc: ErrorAccumulator): ErrorStats {
  const { n } = acc;
  if (n === 0) return { n, mae: Number.NaN, rmse: Number.NaN, bias: Number.NaN };
  return { n, mae: acc.sumAbs / n, rmse: Math.sqrt(acc.sumSq / n), bias: acc.sumSigned / n };
}

/** MAE, RMSE and bias of paired predictions and actuals in one go. */
export function errorStats(pred: Float64Array, actual: Float64Array): ErrorStats {
  return finishErrors(accumulateErrors(pred, actual));
}
