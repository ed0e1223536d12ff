/**
 * The gates of a stage change, from the average of the last 3 runs at the
 * current stage, on the gate engine's predicates (`actors/gates/engine.ts`):
 * the averages are the engine's `mean` aggregation over a 3-sample window,
 * each gate a `Predicate` checked with `holds`.
 *
 * - quality: pass rate Δ ≥ −2 percentage points, average score Δ ≥ 0, top
 *   issue rate −30 % or better (relative, against the runs' baseline);
 * - performance: average latency ≤ the profile's target, p95 ≤ target + 10 %
 *   (a profile without a target, e.g. a default profile a kill reset to:
 *   not applicable — measured and shown, neither passed nor failed);
 * - stability: vetoed share Δ ≤ 0, error + timeout rate ≤ 1 %;
 * - operations: manual correction rate of suggested tags ≤ 30 %;
 * - incidents: 48 h since the last incident (the injected clock's `at`).
 */
import { aggregate, holds, type Comparison, type Predicate, type Sample } from '../gates/engine';
import type { FlagRun, Profile } from './model';

export const GATE_RUNS = 3;
export const CLEAN_HOURS = 48;

export type GateGroup = 'evidence' | 'quality' | 'performance' | 'stability' | 'operations' | 'incidents';

export interface GateResult {
  id: string;
  group: GateGroup;
  description: string;
  /** The measured value (null when there is nothing to measure). */
  value: number | null;
  op: Comparison;
  /** Null when the gate does not apply (no latency target on the profile). */
  threshold: number | null;
  unit: string;
  /** Null when the gate does not apply: it neither holds a stage change back nor counts as met. */
  passed: boolean | null;
  /** Runs the value was averaged over. */
  samples: number;
}

/** A run as a sample of the engine, the runs' raw metrics and their baselines. */
function sampleOf(run: FlagRun): Sample {
  const m = run.metrics;
  return {
    at: run.at,
    values: {
      passRate: m.passRate,
      basePassRate: m.baseline.passRate,
      avgScore: m.avgScore,
      baseAvgScore: m.baseline.avgScore,
      topIssueRate: m.topIssueRate,
      baseTopIssueRate: m.baseline.topIssueRate,
      avgLatencyMs: m.avgLatencyMs,
      p95LatencyMs: m.p95LatencyMs,
      vetoedShare: m.vetoedShare,
      baseVetoedShare: m.baseline.vetoedShare,
      failureRate: m.errorRate + m.timeoutRate,
      manualCorrectionRate: m.manualCorrectionRate,
    },
  };
}

const round = (x: number, digits = 6) => Math.round(x * 10 ** digits) / 10 ** digits;

/**
 * Every gate for leaving the current stage. `runs` are the flag's runs at
 * that stage, oldest first; `lastIncidentAt` the last incident (a kill, or
 * one reported by a run), null when none.
 */
export function evaluateGates(input: { runs: readonly FlagRun[]; profile: Profile; lastIncidentAt: string | null; at: string }): GateResult[] {
  const samples = input.runs.map(sampleOf);
  const mean = (metric: string) => aggregate({ id: metric, description: metric, metric, agg: 'mean', window: { samples: GATE_RUNS }, op: '>=', threshold: 0 }, samples, input.at);
  const n = Math.min(samples.length, GATE_RUNS);
  const m = (metric: string) => mean(metric).value;
  const derived: Record<string, number> = {};
  const put = (k: string, v: number | null) => {
    if (v !== null && Number.isFinite(v)) derived[k] = round(v);
  };
  const pr = m('passRate');
  const bpr = m('basePassRate');
  put('passRateDeltaPp', pr !== null && bpr !== null ? (pr - bpr) * 100 : null);
  const sc = m('avgScore');
  const bsc = m('baseAvgScore');
  put('avgScoreDelta', sc !== null && bsc !== null ? sc - bsc : null);
  const ti = m('topIssueRate');
  const bti = m('baseTopIssueRate');
  // Relative change of the top issue's rate; a baseline without the issue counts as −100 % when it stays away, +100 % when it appears.
  put('topIssueRelChange', ti !== null && bti !== null ? (bti > 0 ? (ti - bti) / bti : ti > 0 ? 1 : -1) : null);
  put('avgLatencyMs', m('avgLatencyMs'));
  put('p95LatencyMs', m('p95LatencyMs'));
  const vs = m('vetoedShare');
  const bvs = m('baseVetoedShare');
  put('vetoedShareDelta', vs !== null && bvs !== null ? vs - bvs : null);
  put('failureRate', m('failureRate'));
  put('manualCorrectionRate', m('manualCorrectionRate'));
  put('runs', samples.length);
  if (input.lastIncidentAt) put('hoursSinceIncident', (Date.parse(input.at) - Date.parse(input.lastIncidentAt)) / 3_600_000);
  else derived.hoursSinceIncident = Number.MAX_SAFE_INTEGER;

  const target = input.profile.targetLatencyMs;
  // Without a target there is nothing to hold latency to: the gates are shown, not judged (no made-up threshold).
  const noTarget = target === undefined ? `not applicable: profile ${input.profile.name} has no latency target` : null;
  const specs: Array<{ group: GateGroup; unit: string; p: Predicate; runBased: boolean; notApplicable?: string | null }> = [
    { group: 'evidence', unit: 'runs', runBased: false, p: { id: 'evidence.runs', description: `at least ${GATE_RUNS} runs at this stage`, metric: 'runs', agg: 'last', op: '>=', threshold: GATE_RUNS } },
    { group: 'quality', unit: 'pp', runBased: true, p: { id: 'quality.passRate', description: 'pass rate Δ vs baseline ≥ −2 percentage points', metric: 'passRateDeltaPp', agg: 'last', op: '>=', threshold: -2 } },
    { group: 'quality', unit: 'points', runBased: true, p: { id: 'quality.avgScore', description: 'average score Δ vs baseline ≥ 0', metric: 'avgScoreDelta', agg: 'last', op: '>=', threshold: 0 } },
    { group: 'quality', unit: 'relative', runBased: true, p: { id: 'quality.topIssueRate', description: 'top issue rate −30 % or better vs baseline', metric: 'topIssueRelChange', agg: 'last', op: '<=', threshold: -0.3 } },
    { group: 'performance', unit: 'ms', runBased: true, notApplicable: noTarget, p: { id: 'performance.avgLatency', description: `average latency ≤ the profile target${target !== undefined ? ` (${target} ms)` : ` (${noTarget})`}`, metric: 'avgLatencyMs', agg: 'last', op: '<=', threshold: target ?? Number.NaN } },
    { group: 'performance', unit: 'ms', runBased: true, notApplicable: noTarget, p: { id: 'performance.p95Latency', description: `p95 latency ≤ the profile target + 10 %${target !== undefined ? '' : ` (${noTarget})`}`, metric: 'p95LatencyMs', agg: 'last', op: '<=', threshold: target !== undefined ? round(target * 1.1) : Number.NaN } },
    { group: 'stability', unit: 'share', runBased: true, p: { id: 'stability.vetoedShare', description: 'vetoed share not increasing vs baseline', metric: 'vetoedShareDelta', agg: 'last', op: '<=', threshold: 0 } },
    { group: 'stability', unit: 'share', runBased: true, p: { id: 'stability.errorRate', description: 'error + timeout rate ≤ 1 %', metric: 'failureRate', agg: 'last', op: '<=', threshold: 0.01 } },
    { group: 'operations', unit: 'share', runBased: true, p: { id: 'operations.manualCorrection', description: 'manual correction rate of suggested tags ≤ 30 %', metric: 'manualCorrectionRate', agg: 'last', op: '<=', threshold: 0.3 } },
    { group: 'incidents', unit: 'h', runBased: false, p: { id: 'incidents.clean48h', description: `${CLEAN_HOURS} h without an incident`, metric: 'hoursSinceIncident', agg: 'last', op: '>=', threshold: CLEAN_HOURS } },
  ];
  const one: Sample[] = [{ at: input.at, values: derived }];
  return specs.map(({ group, unit, p, runBased, notApplicable }) => {
    if (notApplicable) return { id: p.id, group, description: p.description, value: derived[p.metric] ?? null, op: p.op, threshold: null, unit, passed: null, samples: n };
    const r = holds(p, one, input.at);
    // A run-based gate needs the full window: fewer than 3 runs never pass it.
    const passed = r.passed && (!runBased || n >= GATE_RUNS);
    const value = p.metric === 'hoursSinceIncident' && !input.lastIncidentAt ? null : r.value;
    return { id: p.id, group, description: p.description, value, op: p.op, threshold: p.threshold, unit, passed: p.metric === 'hoursSinceIncident' && !input.lastIncidentAt ? true : passed, samples: runBased ? n : 0 };
  });
}

/** The gates that hold a stage change back (a gate that does not apply does not). */
export function failingGates(gates: readonly GateResult[]): GateResult[] {
  return gates.filter((g) => g.passed === false);
}

/** The ids of the gates that do not apply, e.g. latency gates of a profile without a target. */
export function notApplicableGates(gates: readonly GateResult[]): string[] {
  return gates.filter((g) => g.passed === null).map((g) => g.id);
}

/** One line per failing gate, with its numbers: what a refusal says. */
export function describeFailures(gates: readonly GateResult[]): string {
  return failingGates(gates)
    .map((g) => `${g.id}: ${g.value === null ? 'no data' : g.value} (needs ${g.op} ${g.threshold} ${g.unit}${g.samples ? `, average of ${g.samples} run(s)` : ''})`)
    .join('; ');
}
