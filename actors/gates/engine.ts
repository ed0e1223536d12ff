/**
 * The one gate engine behind every rollout (DESIGN.md): model promotion,
 * tenant autonomy, oracle exposure, feature flags. A rollout is an ordered
 * list of stages; each stage has exit gates (predicates over windowed
 * metrics), circuit breakers (predicates that roll back), optional minimum
 * and maximum durations and an optional human approval. A kill switch stops
 * everything. Every evaluation and decision goes into a ledger.
 *
 * Pure: `stepRollout(spec, state, input)` returns the next state and the
 * decisions; the host performs them (transitions, traffic, alerts, audit).
 */

export type Aggregation = 'last' | 'mean' | 'min' | 'max' | 'sum' | 'count';
export type Comparison = '<' | '<=' | '>' | '>=' | '==';

/** A predicate over one metric, aggregated over a window of samples. */
export interface Predicate {
  id: string;
  /** What a person reads in the console and the ledger. */
  description: string;
  metric: string;
  agg: Aggregation;
  /** The samples considered: the last `samples` of this stage, and/or those of the last `ms`. Absent: all of this stage. */
  window?: { samples?: number; ms?: number };
  op: Comparison;
  threshold: number;
  /** Samples the window must hold before the predicate can pass (a breaker never trips on fewer). Default 1. */
  minSamples?: number;
}

export interface BreakerSpec extends Predicate {
  /** What tripping does. */
  action: 'rollback' | 'pause';
}

export interface StageSpec {
  id: string;
  gates: Predicate[];
  breakers?: BreakerSpec[];
  /** No exit before this long in the stage. */
  minDurationMs?: number;
  /** Past this long without passing: hold and ask a human. */
  maxDurationMs?: number;
  /** Leaving the stage needs a named approval once the gates pass. */
  approval?: boolean;
  /** Free data the host uses (e.g. the traffic share of a canary wave). */
  params?: Record<string, number | string | boolean>;
}

export interface RolloutSpec {
  id: string;
  stages: StageSpec[];
}

export interface Sample {
  at: string;
  values: Record<string, number>;
}

export type RolloutStatus = 'running' | 'awaiting_approval' | 'held' | 'paused' | 'completed' | 'rolled_back' | 'killed';

export interface LedgerEntry {
  at: string;
  /** `system:gates` or the person who decided. */
  by: string;
  kind: 'evaluation' | 'advance' | 'approval' | 'rejection' | 'rollback' | 'pause' | 'resume' | 'hold' | 'kill' | 'complete';
  stage: string;
  /** Each predicate's aggregated value and verdict, when the entry is an evaluation. */
  inputs?: Record<string, { value: number | null; passed: boolean; samples: number }>;
  reason: string;
}

export interface RolloutState {
  stageIndex: number;
  stageEnteredAt: string;
  status: RolloutStatus;
  /** Samples of the current stage, oldest first (bounded). */
  samples: Sample[];
  ledger: LedgerEntry[];
}

export type RolloutInput =
  | { type: 'sample'; at: string; values: Record<string, number> }
  | { type: 'evaluate'; at: string }
  | { type: 'approve'; at: string; by: string; justification: string }
  | { type: 'reject'; at: string; by: string; justification: string }
  | { type: 'resume'; at: string; by: string; reason: string }
  | { type: 'kill'; at: string; by: string; reason: string };

export type Decision =
  | { kind: 'enter'; stage: StageSpec; from: string }
  | { kind: 'await_approval'; stage: string }
  | { kind: 'complete'; from: string }
  | { kind: 'rollback'; stage: string; breaker: string; value: number | null; reason: string }
  | { kind: 'pause'; stage: string; breaker: string; value: number | null; reason: string }
  | { kind: 'hold'; stage: string; reason: string }
  | { kind: 'killed'; stage: string; reason: string };

export interface StepResult {
  state: RolloutState;
  decisions: Decision[];
}

const MAX_SAMPLES = 1_000;
const MAX_LEDGER = 500;
const SYSTEM = 'system:gates';

export function startRollout(spec: RolloutSpec, at: string): RolloutState {
  if (spec.stages.length === 0) throw new RangeError(`rollout ${spec.id} has no stages`);
  return { stageIndex: 0, stageEnteredAt: at, status: 'running', samples: [], ledger: [] };
}

/** The aggregated value of a predicate's metric over its window; null when no sample has it. */
export function aggregate(p: Predicate, samples: readonly Sample[], at: string): { value: number | null; count: number } {
  const now = Date.parse(at);
  let window = samples.filter((s) => s.values[p.metric] !== undefined && Number.isFinite(s.values[p.metric]!));
  if (p.window?.ms !== undefined) window = window.filter((s) => now - Date.parse(s.at) <= p.window!.ms!);
  if (p.window?.samples !== undefined) window = window.slice(-p.window.samples);
  const xs = window.map((s) => s.values[p.metric]!);
  if (p.agg === 'count') return { value: xs.length, count: xs.length };
  if (xs.length === 0) return { value: null, count: 0 };
  let value: number;
  switch (p.agg) {
    case 'last':
      value = xs[xs.length - 1]!;
      break;
    case 'mean':
      value = xs.reduce((a, b) => a + b, 0) / xs.length;
      break;
    case 'min':
      value = Math.min(...xs);
      break;
    case 'max':
      value = Math.max(...xs);
      break;
    case 'sum':
      value = xs.reduce((a, b) => a + b, 0);
      break;
  }
  return { value, count: xs.length };
}

function compare(value: number, op: Comparison, threshold: number): boolean {
  switch (op) {
    case '<':
      return value < threshold;
    case '<=':
      return value <= threshold;
    case '>':
      return value > threshold;
    case '>=':
      return value >= threshold;
    case '==':
      return value === threshold;
  }
}

/** Whether a predicate holds now; one without enough samples does not. */
export function holds(p: Predicate, samples: readonly Sample[], at: string): { value: number | null; passed: boolean; samples: number } {
  const { value, count } = aggregate(p, samples, at);
  const passed = value !== null && count >= (p.minSamples ?? 1) && compare(value, p.op, p.threshold);
  return { value, passed, samples: count };
}

function push<T>(list: readonly T[], item: T, max: number): T[] {
  const out = [...list, item];
  return out.length > max ? out.slice(out.length - max) : out;
}

/**
 * Feeds one input to a rollout. `sample` only records; `evaluate` checks the
 * breakers (a trip wins over everything), then the gates and durations of
 * the current stage; approvals, resumes and the kill switch come from people.
 */
export function stepRollout(spec: RolloutSpec, state: RolloutState, input: RolloutInput): StepResult {
  const stage = spec.stages[state.stageIndex];
  if (!stage) throw new RangeError(`rollout ${spec.id} has no stage ${state.stageIndex}`);
  const finished = state.status === 'completed' || state.status === 'rolled_back' || state.status === 'killed';
  const entry = (e: Omit<LedgerEntry, 'at' | 'stage'>): RolloutState['ledger'] => push(state.ledger, { at: input.at, stage: stage.id, ...e }, MAX_LEDGER);

  switch (input.type) {
    case 'sample':
      if (finished) return { state, decisions: [] };
      return { state: { ...state, samples: push(state.samples, { at: input.at, values: input.values }, MAX_SAMPLES) }, decisions: [] };

    case 'kill': {
      if (finished) return { state, decisions: [] };
      return {
        state: { ...state, status: 'killed', ledger: entry({ by: input.by, kind: 'kill', reason: input.reason }) },
        decisions: [{ kind: 'killed', stage: stage.id, reason: input.reason }],
      };
    }

    case 'resume': {
      if (state.status !== 'held' && state.status !== 'paused') return { state, decisions: [] };
      // A resumed stage starts its clock again, with its samples.
      return { state: { ...state, status: 'running', stageEnteredAt: input.at, ledger: entry({ by: input.by, kind: 'resume', reason: input.reason }) }, decisions: [] };
    }

    case 'approve':
    case 'reject': {
      if (state.status !== 'awaiting_approval') return { state, decisions: [] };
      if (input.type === 'reject') {
        return {
          state: { ...state, status: 'held', ledger: entry({ by: input.by, kind: 'rejection', reason: input.justification }) },
          decisions: [{ kind: 'hold', stage: stage.id, reason: `rejected by ${input.by}: ${input.justification}` }],
        };
      }
      const approved = { ...state, ledger: entry({ by: input.by, kind: 'approval', reason: input.justification }) };
      return advance(spec, approved, input.at, `approved by ${input.by}: ${input.justification}`);
    }

    case 'evaluate': {
      if (state.status !== 'running' && state.status !== 'awaiting_approval') return { state, decisions: [] };
      const inputs: NonNullable<LedgerEntry['inputs']> = {};
      for (const b of stage.breakers ?? []) {
        const r = holds(b, state.samples, input.at);
        inputs[b.id] = r;
        if (r.passed) {
          const reason = `${b.description} (${b.metric} ${b.agg} = ${fmt(r.value)} ${b.op} ${b.threshold})`;
          const status: RolloutStatus = b.action === 'rollback' ? 'rolled_back' : 'paused';
          return {
            state: { ...state, status, ledger: entry({ by: SYSTEM, kind: b.action, inputs, reason }) },
            decisions: [{ kind: b.action, stage: stage.id, breaker: b.id, value: r.value, reason }],
          };
        }
      }
      if (state.status === 'awaiting_approval') return { state, decisions: [] };
      let allPass = true;
      for (const g of stage.gates) {
        const r = holds(g, state.samples, input.at);
        inputs[g.id] = r;
        allPass &&= r.passed;
      }
      const elapsed = Date.parse(input.at) - Date.parse(state.stageEnteredAt);
      const evaluated = { ...state, ledger: entry({ by: SYSTEM, kind: 'evaluation', inputs, reason: allPass ? 'every gate passes' : 'some gate does not pass yet' }) };
      if (allPass && elapsed >= (stage.minDurationMs ?? 0)) {
        if (stage.approval) {
          return {
            state: { ...evaluated, status: 'awaiting_approval', ledger: push(evaluated.ledger, { at: input.at, stage: stage.id, by: SYSTEM, kind: 'hold', reason: 'gates pass; waiting for a named approval' }, MAX_LEDGER) },
            decisions: [{ kind: 'await_approval', stage: stage.id }],
          };
        }
        return advance(spec, evaluated, input.at, 'every gate passes');
      }
      if (stage.maxDurationMs !== undefined && elapsed > stage.maxDurationMs) {
        const reason = `no decision after the stage's maximum of ${stage.maxDurationMs} ms; a person decides`;
        return {
          state: { ...evaluated, status: 'held', ledger: push(evaluated.ledger, { at: input.at, stage: stage.id, by: SYSTEM, kind: 'hold', reason }, MAX_LEDGER) },
          decisions: [{ kind: 'hold', stage: stage.id, reason }],
        };
      }
      return { state: evaluated, decisions: [] };
    }
  }
}

function advance(spec: RolloutSpec, state: RolloutState, at: string, reason: string): StepResult {
  const from = spec.stages[state.stageIndex]!;
  const next = spec.stages[state.stageIndex + 1];
  if (!next) {
    return {
      state: { ...state, status: 'completed', ledger: push(state.ledger, { at, stage: from.id, by: SYSTEM, kind: 'complete', reason }, MAX_LEDGER) },
      decisions: [{ kind: 'complete', from: from.id }],
    };
  }
  return {
    state: {
      stageIndex: state.stageIndex + 1,
      stageEnteredAt: at,
      status: 'running',
      samples: [],
      ledger: push(state.ledger, { at, stage: from.id, by: SYSTEM, kind: 'advance', reason: `${from.id} → ${next.id}: ${reason}` }, MAX_LEDGER),
    },
    decisions: [{ kind: 'enter', stage: next, from: from.id }],
  };
}

function fmt(v: number | null): string {
  return v === null ? 'n/a' : Number.isInteger(v) ? String(v) : v.toFixed(4);
}
