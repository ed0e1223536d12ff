/**
 * Offline evaluation of a retrained model on a time-based backtest: the
 * newest rows of the snapshot, never seen in training. Pure.
 */
export interface BacktestRow {
  readonly occurredAt: string;
  readonly segment: string | null;
  readonly actual: number | null;
  /** What the serving model predicted at the time (the incumbent), if known. */
  readonly prediction: number | null;
}

export interface EvaluationThresholds {
  /** Fewer labelled backtest rows than this → FAILED (no evidence). */
  readonly minTestRows: number;
  /** Candidate MAE may exceed the baseline's by at most this fraction overall… */
  readonly maxRelativeDegradation: number;
  /** …and per segment (segments with at least `minSegmentRows` rows). */
  readonly maxSegmentDegradation: number;
  readonly minSegmentRows: number;
}

export const DEFAULT_THRESHOLDS: EvaluationThresholds = { minTestRows: 10, maxRelativeDegradation: 0, maxSegmentDegradation: 0.1, minSegmentRows: 5 };

export interface SegmentResult {
  segment: string;
  n: number;
  mae: number;
  baselineMae: number;
  passed: boolean;
}

export interface Evaluation {
  passed: boolean;
  reason: string;
  n: number;
  mae: number;
  baselineMae: number;
  /** `incumbent` when the rows carry the serving model's predictions, else the training mean. */
  baseline: 'incumbent' | 'train-mean';
  segments: SegmentResult[];
}

/** Splits rows by time: the newest `testFraction` (at least one row) is the backtest. */
export function timeSplit<R extends { occurredAt: string }>(rows: readonly R[], testFraction = 0.2): { train: R[]; test: R[] } {
  const sorted = [...rows].sort((a, b) => (a.occurredAt < b.occurredAt ? -1 : a.occurredAt > b.occurredAt ? 1 : 0));
  const nTest = sorted.length < 2 ? 0 : Math.max(1, Math.floor(sorted.length * testFraction));
  return { train: sorted.slice(0, sorted.length - nTest), test: sorted.slice(sorted.length - nTest) };
}

/** Scores candidate predictions against the baseline, overall and per segment. */
export function evaluateBacktest(test: readonly BacktestRow[], predictions: readonly number[], trainMean: number, t: EvaluationThresholds = DEFAULT_THRESHOLDS): Evaluation {
  const idx = test.flatMap((r, i) => (typeof r.actual === 'number' ? [i] : []));
  const incumbent = idx.length > 0 && idx.every((i) => typeof test[i]!.prediction === 'number');
  const base = (i: number) => (incumbent ? test[i]!.prediction! : trainMean);
  const mae = (ids: number[], f: (i: number) => number) => ids.reduce((s, i) => s + Math.abs(f(i) - test[i]!.actual!), 0) / Math.max(1, ids.length);
  const cand = (i: number) => predictions[i]!;
  const overall = { mae: mae(idx, cand), baselineMae: mae(idx, base) };
  const bySegment = new Map<string, number[]>();
  for (const i of idx) {
    const s = test[i]!.segment ?? '(none)';
    bySegment.set(s, [...(bySegment.get(s) ?? []), i]);
  }
  const segments: SegmentResult[] = [...bySegment.entries()]
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([segment, ids]) => {
      const m = mae(ids, cand);
      const b = mae(ids, base);
      return { segment, n: ids.length, mae: m, baselineMae: b, passed: ids.length < t.minSegmentRows || m <= b * (1 + t.maxSegmentDegradation) + 1e-12 };
    });
  const common = { n: idx.length, mae: overall.mae, baselineMae: overall.baselineMae, baseline: incumbent ? ('incumbent' as const) : ('train-mean' as const), segments };
  if (idx.length < t.minTestRows) return { ...common, passed: false, reason: `only ${idx.length} labelled backtest rows; at least ${t.minTestRows} are needed` };
  if (!(overall.mae <= overall.baselineMae * (1 + t.maxRelativeDegradation) + 1e-12)) {
    return { ...common, passed: false, reason: `backtest MAE ${overall.mae.toFixed(4)} is worse than the ${common.baseline} baseline ${overall.baselineMae.toFixed(4)}` };
  }
  const bad = segments.filter((s) => !s.passed);
  if (bad.length) return { ...common, passed: false, reason: `segment(s) ${bad.map((s) => s.segment).join(', ')} degrade by more than ${t.maxSegmentDegradation * 100}%` };
  return { ...common, passed: true, reason: `backtest MAE ${overall.mae.toFixed(4)} ≤ ${common.baseline} baseline ${overall.baselineMae.toFixed(4)} overall and in every segment` };
}
