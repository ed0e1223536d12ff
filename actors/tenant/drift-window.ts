/**
 * The tenant's drift window, as pure functions over plain JSON state (it is
 * persisted with the actor). Live events are binned into the open day's
 * buckets as they arrive; when a day ends the host recomputes that day from
 * the stored events (the store of record, so a redelivery or a crash on the
 * live path cannot skew a report) and `closeDay` turns it into the day's
 * report, the 7-day `DriftScore` and the 3-consecutive-day breach rule.
 *
 * The kernels are the pure, dependency-free typed-array functions of
 * control-plane/kernels: the same code `tollgate drift compare` runs.
 */
import {
  baselineBins,
  DEFAULT_EPSILON,
  EMPTY_ERRORS,
  finishErrors,
  histogram,
  kl,
  mergeErrors,
  psi,
  psiLevel,
  rollingMean,
  shares,
  sustainedBreach,
  type DriftLevel,
  type ErrorAccumulator,
} from '../../control-plane/kernels';

export const DAY_MS = 86_400_000;

export interface DriftConfig {
  /** PSI above which a day is a warning / critical. */
  psiWarn: number;
  psiCritical: number;
  /** Bins per feature of a new baseline (deciles). */
  bins: number;
  /** Days in the rolling `DriftScore` mean. */
  windowDays: number;
  /** Consecutive critical days before a breach counts. */
  breachDays: number;
  /** How long after midnight (UTC) a day is closed, for late events. */
  closeGraceMs: number;
  /** Events needed before a baseline is taken automatically. */
  minBaselineEvents: number;
  /** The champion's daily RMSE above which production rolls back; null = off. */
  rollbackRmse: number | null;
  /** The champion's daily |bias| above which production rolls back; null = off. */
  rollbackBias: number | null;
}

export const DEFAULT_DRIFT_CONFIG: Readonly<DriftConfig> = Object.freeze({
  psiWarn: 0.1,
  psiCritical: 0.25,
  bins: 10,
  windowDays: 7,
  breachDays: 3,
  closeGraceMs: 15 * 60_000,
  minBaselineEvents: 100,
  rollbackRmse: null,
  rollbackBias: null,
});

export interface FeatureBaseline {
  edges: number[];
  counts: number[];
}

/** The reference distribution: fixed bin edges and shares per feature, error sums per model. */
export interface Baseline {
  takenAt: string;
  fromDay: string;
  toDay: string;
  n: number;
  features: Record<string, FeatureBaseline>;
  errors: Record<string, ErrorAccumulator>;
  /** Who set it: `system:drift` (automatic) or the ADMIN who reset it. */
  by: string;
  reason: string;
}

/** One day's aggregates: counts per feature bin (on the baseline's edges), error sums per model. */
export interface DayAgg {
  n: number;
  labelled: number;
  features: Record<string, number[]>;
  errors: Record<string, ErrorAccumulator>;
  /** Newest event time seen for the day (detection latency is measured from it). */
  lastEventTs: string | null;
}

/** A closed day, as the window remembers it. */
export interface DaySummary {
  day: string;
  /** Max PSI over features; null when the day had no data or there was no baseline. */
  score: number | null;
  driftScore: number | null;
  level: DriftLevel | 'none';
  n: number;
  breach: boolean;
}

export interface DriftState {
  config: DriftConfig;
  baseline: Baseline | null;
  /** Days still receiving events, by `YYYY-MM-DD`. */
  open: Record<string, DayAgg>;
  /** Closed days, oldest first, at most HISTORY_DAYS. */
  history: DaySummary[];
  lastClosedDay: string | null;
  /** The day the close timer is set for. */
  closing: string | null;
  /** Consecutive critical days up to the last closed one. */
  streak: number;
  /** A sustained breach is going on (set when the streak reaches `breachDays`). */
  breachActive: boolean;
  /** Events that arrived after their day was closed. */
  late: number;
}

const HISTORY_DAYS = 60;

export function initialDrift(config: Partial<DriftConfig> = {}): DriftState {
  return {
    config: { ...DEFAULT_DRIFT_CONFIG, ...config },
    baseline: null,
    open: {},
    history: [],
    lastClosedDay: null,
    closing: null,
    streak: 0,
    breachActive: false,
    late: 0,
  };
}

/** `Date#toISOString()`'s form with a day every month has (29–31 go the long way): the day is its first ten characters. */
const CANONICAL_TS = /^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|1\d|2[0-8])T([01]\d|2[0-3]):[0-5]\d:[0-5]\d\.\d{3}Z$/;

/** The UTC day of an instant, `YYYY-MM-DD`. */
export function dayOf(ts: string | number | Date): string {
  // Every observed event's ts is already canonical: skip the Date round trip (a hot loop).
  if (typeof ts === 'string' && ts.length === 24 && CANONICAL_TS.test(ts)) return ts.slice(0, 10);
  return new Date(ts).toISOString().slice(0, 10);
}

export function addDays(day: string, n: number): string {
  return dayOf(Date.parse(`${day}T00:00:00Z`) + n * DAY_MS);
}

/** When `day` is closed: the next midnight plus the grace period. */
export function closeTimeOf(day: string, config: DriftConfig): Date {
  return new Date(Date.parse(`${day}T00:00:00Z`) + DAY_MS + config.closeGraceMs);
}

export function emptyDay(): DayAgg {
  return { n: 0, labelled: 0, features: {}, errors: {}, lastEventTs: null };
}

/** A learning event as the window needs it. */
export interface ObservedEvent {
  ts: string;
  modelVersionId: string;
  features: Record<string, number>;
  prediction: number;
  actual?: number | null;
  /** A delayed label for a prediction already counted: only its error is added. */
  labelOnly?: boolean;
}

/**
 * Adds live events to their open days. Events of a closed day are counted
 * as late and left out (a report, once signed, does not change).
 */
export function observe(state: DriftState, events: readonly ObservedEvent[]): DriftState {
  const open = { ...state.open };
  let late = state.late;
  const touched = new Set<string>();
  for (const e of events) {
    const day = dayOf(e.ts);
    if (state.lastClosedDay !== null && day <= state.lastClosedDay) {
      late++;
      continue;
    }
    if (!touched.has(day)) {
      open[day] = cloneDay(open[day] ?? emptyDay());
      touched.add(day);
    }
    addEvent(open[day]!, e, e.labelOnly ? null : state.baseline);
  }
  return { ...state, open, late };
}

function cloneDay(d: DayAgg): DayAgg {
  const features: Record<string, number[]> = {};
  for (const [k, v] of Object.entries(d.features)) features[k] = v.slice();
  return { ...d, features, errors: { ...d.errors } };
}

/** Bins one event into a day (mutates `day`; callers pass a fresh copy). */
export function addEvent(day: DayAgg, e: ObservedEvent, baseline: Baseline | null): void {
  if (!e.labelOnly) day.n++;
  if (day.lastEventTs === null || e.ts > day.lastEventTs) day.lastEventTs = e.ts;
  if (e.actual !== undefined && e.actual !== null) {
    day.labelled++;
    const err = e.prediction - e.actual;
    const acc = day.errors[e.modelVersionId] ?? EMPTY_ERRORS;
    day.errors[e.modelVersionId] = { n: acc.n + 1, sumAbs: acc.sumAbs + Math.abs(err), sumSq: acc.sumSq + err * err, sumSigned: acc.sumSigned + err };
  }
  if (!baseline) return;
  for (const [name, ref] of Object.entries(baseline.features)) {
    const v = e.features[name];
    if (v === undefined) continue;
    const counts = (day.features[name] ??= new Array<number>(ref.edges.length + 1).fill(0));
    counts[binOf(v, ref.edges)]!++;
  }
}

/** The bin of one value: the number of edges ≤ v (left-closed bins, as `histogram`). */
function binOf(v: number, edges: readonly number[]): number {
  let lo = 0;
  let hi = edges.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (v >= edges[mid]!) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Which day the next close is for, given the open days and the last closed one. */
export function nextDayToClose(state: DriftState): string | null {
  if (state.lastClosedDay !== null) return addDays(state.lastClosedDay, 1);
  const days = Object.keys(state.open).sort();
  return days[0] ?? null;
}

export interface FeatureReport {
  psi: number;
  kl: number;
  level: DriftLevel;
  counts: number[];
}

export interface ModelReport {
  n: number;
  mae: number | null;
  rmse: number | null;
  bias: number | null;
  baselineMae: number | null;
  /** (mae - baselineMae) / baselineMae; null without both. */
  relativeMaeDelta: number | null;
}

/** The content of a DriftReport, before the host signs and stores it. */
export interface DriftReportBody {
  v: 1;
  /** The production-rollback thresholds in force (null = off). */
  rollback?: { rmse: number | null; bias: number | null };
  kind: 'tollgate.drift-report';
  tenantId: string;
  day: string;
  window: { from: string; to: string };
  thresholds: { warn: number; critical: number };
  baseline: { takenAt: string; fromDay: string; toDay: string; n: number } | null;
  n: number;
  labelled: number;
  labelShare: number | null;
  features: Record<string, FeatureReport>;
  models: Record<string, ModelReport>;
  /** Max PSI over features: the day's score. */
  score: number | null;
  /** Mean of the last `windowDays` daily scores. */
  driftScore: number | null;
  level: DriftLevel | 'none';
  /** Consecutive critical days ending with this one. */
  streak: number;
  breach: boolean;
  /** This day completed a run of `breachDays` critical days. */
  breachStarted: boolean;
  lastEventTs: string | null;
  late: number;
}

/**
 * Closes `day` with its recomputed aggregates: the day's metrics against the
 * baseline, the rolling `DriftScore` and the breach rule. `baseline`, when
 * given, becomes the reference first (the automatic first baseline).
 */
export function closeDay(
  state: DriftState,
  tenantId: string,
  day: string,
  agg: DayAgg,
  baseline: Baseline | null,
): { state: DriftState; report: DriftReportBody } {
  const base = baseline ?? state.baseline;
  const { config } = state;
  const features: Record<string, FeatureReport> = {};
  let score: number | null = null;
  if (base && agg.n > 0) {
    for (const [name, ref] of Object.entries(base.features)) {
      const counts = agg.features[name];
      if (!counts || counts.reduce((a, b) => a + b, 0) === 0) continue;
      const expected = shares(Uint32Array.from(ref.counts), DEFAULT_EPSILON);
      const actual = shares(Uint32Array.from(counts), DEFAULT_EPSILON);
      const p = psi(expected, actual);
      features[name] = { psi: p, kl: kl(expected, actual), level: psiLevel(p, { warn: config.psiWarn, critical: config.psiCritical }), counts: counts.slice() };
      score = score === null ? p : Math.max(score, p);
    }
  }

  const models: Record<string, ModelReport> = {};
  for (const [id, acc] of Object.entries(agg.errors)) {
    const s = finishErrors(acc);
    const b = base?.errors[id] ? finishErrors(base.errors[id]) : null;
    const baselineMae = b && b.n > 0 ? b.mae : null;
    models[id] = {
      n: s.n,
      mae: finite(s.mae),
      rmse: finite(s.rmse),
      bias: finite(s.bias),
      baselineMae,
      relativeMaeDelta: baselineMae && baselineMae > 0 && s.n > 0 ? (s.mae - baselineMae) / baselineMae : null,
    };
  }

  // Every day between the last closed one and this one had no data (NaN).
  const gap: DaySummary[] = [];
  if (state.lastClosedDay !== null) {
    for (let d = addDays(state.lastClosedDay, 1); d < day; d = addDays(d, 1)) gap.push({ day: d, score: null, driftScore: null, level: 'none', n: 0, breach: false });
  }
  const prior = [...state.history, ...gap];
  const scores = Float64Array.from([...prior.slice(-(config.windowDays - 1)).map((h) => h.score ?? Number.NaN), score ?? Number.NaN]);
  const driftScore = finite(rollingMean(scores, config.windowDays)[scores.length - 1]!);

  // The rule runs over the daily scores (not the rolling mean: one outlier day
  // lifts a 7-day mean for a week and must not count as a breach).
  const series = Float64Array.from([...prior.map((h) => h.score ?? Number.NaN), score ?? Number.NaN]);
  const { streak } = sustainedBreach(series, config.psiCritical, config.breachDays);
  const breach = streak >= config.breachDays;
  const breachStarted = streak === config.breachDays;
  const level: DriftLevel | 'none' = score === null ? 'none' : psiLevel(score, { warn: config.psiWarn, critical: config.psiCritical });

  const summary: DaySummary = { day, score, driftScore, level, n: agg.n, breach };
  const open = { ...state.open };
  delete open[day];
  const next: DriftState = {
    ...state,
    baseline: base,
    open: base !== state.baseline ? rebinCleared(open) : open,
    history: [...prior, summary].slice(-HISTORY_DAYS),
    lastClosedDay: day,
    closing: null,
    streak,
    breachActive: breach,
  };
  const start = Date.parse(`${day}T00:00:00Z`);
  const report: DriftReportBody = {
    v: 1,
    kind: 'tollgate.drift-report',
    tenantId,
    day,
    window: { from: new Date(start).toISOString(), to: new Date(start + DAY_MS).toISOString() },
    thresholds: { warn: config.psiWarn, critical: config.psiCritical },
    rollback: { rmse: config.rollbackRmse ?? null, bias: config.rollbackBias ?? null },
    baseline: base ? { takenAt: base.takenAt, fromDay: base.fromDay, toDay: base.toDay, n: base.n } : null,
    n: agg.n,
    labelled: agg.labelled,
    labelShare: agg.n > 0 ? agg.labelled / agg.n : null,
    features,
    models,
    score,
    driftScore,
    level,
    streak,
    breach,
    breachStarted,
    lastEventTs: agg.lastEventTs,
    late: state.late,
  };
  return { state: next, report };
}

/** A new baseline has new edges: live bin counts of open days no longer apply (the close recomputes them). */
function rebinCleared(open: Record<string, DayAgg>): Record<string, DayAgg> {
  const out: Record<string, DayAgg> = {};
  for (const [day, agg] of Object.entries(open)) out[day] = { ...agg, features: {} };
  return out;
}

/** Replaces the baseline (an ADMIN reset): the breach run starts over. */
export function replaceBaseline(state: DriftState, baseline: Baseline): DriftState {
  return { ...state, baseline, open: rebinCleared(state.open), streak: 0, breachActive: false };
}

/** Edges per feature, as the recompute needs them. */
export function edgesOf(baseline: Baseline | null): Record<string, number[]> | null {
  if (!baseline) return null;
  const out: Record<string, number[]> = {};
  for (const [name, f] of Object.entries(baseline.features)) out[name] = f.edges;
  return out;
}

/** Bins a whole day's stored events at once (the recompute path), with the kernels. */
export function aggregateDay(events: readonly ObservedEvent[], edges: Record<string, number[]> | null): DayAgg {
  const day = emptyDay();
  const columns: Record<string, number[]> = {};
  for (const e of events) {
    day.n++;
    if (day.lastEventTs === null || e.ts > day.lastEventTs) day.lastEventTs = e.ts;
    if (e.actual !== undefined && e.actual !== null) {
      day.labelled++;
      const err = e.prediction - e.actual;
      const acc = day.errors[e.modelVersionId] ?? EMPTY_ERRORS;
      day.errors[e.modelVersionId] = mergeErrors(acc, { n: 1, sumAbs: Math.abs(err), sumSq: err * err, sumSigned: err });
    }
    if (edges) for (const name of Object.keys(edges)) if (e.features[name] !== undefined) (columns[name] ??= []).push(e.features[name]!);
  }
  if (edges) {
    for (const [name, values] of Object.entries(columns)) day.features[name] = Array.from(histogram(Float64Array.from(values), Float64Array.from(edges[name]!)));
  }
  return day;
}

function finite(x: number): number | null {
  return Number.isFinite(x) ? x : null;
}

/**
 * A baseline from stored events: per feature, decile edges of its values
 * and the counts over them (`baselineBins`); per model, the error sums.
 * A constant feature gets one edge at its value (a change of it still shows).
 */
export function buildBaseline(
  events: readonly ObservedEvent[],
  meta: { takenAt: string; fromDay: string; toDay: string; by: string; reason: string; bins: number },
): Baseline {
  const columns: Record<string, number[]> = {};
  const errors: Record<string, ErrorAccumulator> = {};
  for (const e of events) {
    for (const [name, v] of Object.entries(e.features)) (columns[name] ??= []).push(v);
    if (e.actual !== undefined && e.actual !== null) {
      const err = e.prediction - e.actual;
      errors[e.modelVersionId] = mergeErrors(errors[e.modelVersionId] ?? EMPTY_ERRORS, { n: 1, sumAbs: Math.abs(err), sumSq: err * err, sumSigned: err });
    }
  }
  const features: Record<string, FeatureBaseline> = {};
  for (const name of Object.keys(columns).sort()) {
    const b = baselineBins(Float64Array.from(columns[name]!), meta.bins);
    if (b.edges.length === 0) continue;
    features[name] = { edges: Array.from(b.edges), counts: Array.from(b.counts) };
  }
  const { bins: _bins, ...rest } = meta;
  return { ...rest, n: events.length, features, errors };
}
