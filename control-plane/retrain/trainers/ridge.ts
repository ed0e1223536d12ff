import canonicalize from 'canonicalize';
import type { TrainingInput } from '../../ports/trainer';
import type { SnapshotRow } from '../snapshot';

/** The built-in model: standardized features, ridge regression, λ chosen by seeded k-fold CV. */
export interface RidgeModel {
  format: 'tollgate-ridge/v1';
  featureNames: string[];
  means: number[];
  scales: number[];
  weights: number[];
  intercept: number;
  lambda: number;
  seed: number;
  snapshotId: string;
  rows: number;
}

const LAMBDAS = [0.01, 0.1, 1, 10, 100];
const FOLDS = 4;

/** mulberry32: a tiny seeded PRNG, so fold assignment depends on the seed only. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function matrix(rows: readonly SnapshotRow[], names: readonly string[]): number[][] {
  return rows.map((r) => names.map((n) => (typeof r.features[n] === 'number' && Number.isFinite(r.features[n]) ? r.features[n]! : 0)));
}

/** Solves (XᵀX + λI) w = Xᵀy by Gaussian elimination with partial pivoting. */
function solveRidge(x: number[][], y: number[], lambda: number): number[] {
  const d = x[0]?.length ?? 0;
  const a = Array.from({ length: d }, () => new Array<number>(d + 1).fill(0));
  for (let i = 0; i < x.length; i++) {
    const xi = x[i]!;
    for (let j = 0; j < d; j++) {
      for (let k = 0; k < d; k++) a[j]![k]! += xi[j]! * xi[k]!;
      a[j]![d]! += xi[j]! * y[i]!;
    }
  }
  for (let j = 0; j < d; j++) a[j]![j]! += lambda;
  for (let col = 0; col < d; col++) {
    let pivot = col;
    for (let r = col + 1; r < d; r++) if (Math.abs(a[r]![col]!) > Math.abs(a[pivot]![col]!)) pivot = r;
    [a[col], a[pivot]] = [a[pivot]!, a[col]!];
    const p = a[col]![col]!;
    if (p === 0) continue;
    for (let r = 0; r < d; r++) {
      if (r === col) continue;
      const f = a[r]![col]! / p;
      if (f !== 0) for (let k = col; k <= d; k++) a[r]![k]! -= f * a[col]![k]!;
    }
  }
  return a.map((row, j) => (row[j] === 0 ? 0 : row[d]! / row[j]!));
}

function fit(x: number[][], y: number[], lambda: number): { weights: number[]; intercept: number } {
  const mean = y.reduce((s, v) => s + v, 0) / Math.max(1, y.length);
  const weights = solveRidge(x, y.map((v) => v - mean), lambda);
  return { weights, intercept: mean };
}

function predictRaw(weights: readonly number[], intercept: number, row: readonly number[]): number {
  let s = intercept;
  for (let j = 0; j < weights.length; j++) s += weights[j]! * row[j]!;
  return s;
}

/** Trains the ridge model: pure and deterministic (same input and seed → same bytes). */
export function trainRidge(input: TrainingInput): { model: RidgeModel; artifact: Uint8Array; predictions: number[] } {
  const names = [...input.featureNames];
  const labelled = input.train.filter((r) => typeof r.actual === 'number');
  const raw = matrix(labelled, names);
  const y = labelled.map((r) => r.actual!);
  const means = names.map((_, j) => raw.reduce((s, r) => s + r[j]!, 0) / Math.max(1, raw.length));
  const scales = names.map((_, j) => {
    const v = raw.reduce((s, r) => s + (r[j]! - means[j]!) ** 2, 0) / Math.max(1, raw.length);
    return v > 0 ? Math.sqrt(v) : 1;
  });
  const x = raw.map((r) => r.map((v, j) => (v - means[j]!) / scales[j]!));
  const rand = prng(input.seed);
  const fold = x.map(() => Math.floor(rand() * FOLDS));
  let best = { lambda: LAMBDAS[0]!, error: Infinity };
  for (const lambda of LAMBDAS) {
    let error = 0;
    for (let f = 0; f < FOLDS; f++) {
      const tr = x.flatMap((_, i) => (fold[i] === f ? [] : [i]));
      const te = x.flatMap((_, i) => (fold[i] === f ? [i] : []));
      if (!tr.length || !te.length) continue;
      const m = fit(tr.map((i) => x[i]!), tr.map((i) => y[i]!), lambda);
      for (const i of te) error += Math.abs(predictRaw(m.weights, m.intercept, x[i]!) - y[i]!);
    }
    if (error < best.error) best = { lambda, error };
  }
  const { weights, intercept } = fit(x, y, best.lambda);
  const model: RidgeModel = { format: 'tollgate-ridge/v1', featureNames: names, means, scales, weights, intercept, lambda: best.lambda, seed: input.seed, snapshotId: input.snapshotId, rows: labelled.length };
  const artifact = new TextEncoder().encode(canonicalize(model)!);
  return { model, artifact, predictions: predictWith(model, input.test) };
}

/** Predictions of a stored ridge model for `rows`. */
export function predictWith(model: RidgeModel, rows: readonly SnapshotRow[]): number[] {
  return matrix(rows, model.featureNames).map((r) =>
    predictRaw(
      model.weights,
      model.intercept,
      r.map((v, j) => (v - model.means[j]!) / model.scales[j]!),
    ),
  );
}
