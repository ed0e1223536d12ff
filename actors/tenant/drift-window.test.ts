import fc from 'fast-check';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  addDays,
  aggregateDay,
  buildBaseline,
  closeDay,
  closeTimeOf,
  dayOf,
  initialDrift,
  nextDayToClose,
  observe,
  replaceBaseline,
  type Baseline,
  type DayAgg,
  type DriftState,
  type ObservedEvent,
} from './drift-window';

const M = '00000000-0000-4000-8000-000000000001';
const D0 = '2026-03-01';

/** Deterministic values 0..99 spread over the day. */
function events(day: string, values: readonly number[], extra: Partial<ObservedEvent> = {}): ObservedEvent[] {
  return values.map((x, i) => ({
    ts: new Date(Date.parse(`${day}T00:00:00Z`) + (i % 86_000) * 1000).toISOString(),
    modelVersionId: M,
    features: { x },
    prediction: x,
    ...extra,
  }));
}

const uniform = Array.from({ length: 1000 }, (_, i) => i % 100);
const shifted = Array.from({ length: 1000 }, (_, i) => 60 + (i % 40)); // all mass in the top 4 deciles

function baselineOf(values: readonly number[]): Baseline {
  return buildBaseline(events(D0, values), { takenAt: `${D0}T00:00:00Z`, fromDay: D0, toDay: D0, by: 'system:drift', reason: 'test', bins: 10 });
}

/** Closes consecutive days from D0+1 with the given data (null = no event that day). */
function run(days: ReadonlyArray<readonly number[] | null>, base = baselineOf(uniform)): { state: DriftState; reports: ReturnType<typeof closeDay>['report'][] } {
  let state: DriftState = { ...initialDrift(), baseline: base };
  const reports = [];
  let day = D0;
  for (const values of days) {
    day = addDays(day, 1);
    const agg: DayAgg = aggregateDay(values ? events(day, values) : [], { x: base.features.x!.edges });
    const closed = closeDay(state, 't1', day, agg, null);
    state = closed.state;
    reports.push(closed.report);
  }
  return { state, reports };
}

const rule = suite('drift window: the 3-consecutive-day rule');

rule('identical distributions score 0 and never breach', () => {
  const { reports } = run([uniform, uniform, uniform, uniform]);
  for (const r of reports) {
    assert.ok(Math.abs(r.score!) < 1e-12, `score ${r.score}`);
    assert.is(r.breach, false);
    assert.is(r.level, 'ok');
  }
});

rule('2 days over, then 1 under → no breach; the run starts over', () => {
  const { reports, state } = run([shifted, shifted, uniform]);
  assert.ok(reports[0]!.score! > 0.25 && reports[1]!.score! > 0.25, 'the shifted days are critical');
  assert.equal(reports.map((r) => r.streak), [1, 2, 0]);
  assert.equal(reports.map((r) => r.breach), [false, false, false]);
  assert.is(state.breachActive, false);
});

rule('3 days over → breach, started once; it stays active while the run lasts', () => {
  const { reports, state } = run([shifted, shifted, shifted, shifted, uniform]);
  assert.equal(reports.map((r) => r.breach), [false, false, true, true, false]);
  assert.equal(reports.map((r) => r.breachStarted), [false, false, true, false, false]);
  assert.is(state.breachActive, false);
  assert.is(reports[2]!.level, 'critical');
});

rule('one outlier day lifts the 7-day DriftScore over critical but is no breach', () => {
  const { reports } = run([uniform, uniform, shifted, uniform, uniform, uniform, uniform]);
  const outlier = reports[2]!;
  assert.ok(outlier.score! > 0.25 * 7, `the outlier is big enough to lift the mean: ${outlier.score}`);
  assert.ok(reports[3]!.driftScore! > 0.25, `DriftScore after the outlier: ${reports[3]!.driftScore}`);
  assert.ok(reports.every((r) => !r.breach));
});

rule('DriftScore is the mean of the last 7 daily scores (days without data left out)', () => {
  const { reports } = run([shifted, uniform, uniform, uniform, uniform, uniform, uniform, uniform]);
  const s = reports.map((r) => r.score!);
  // Day 7's window holds days 1..7; day 8's holds days 2..8 (the outlier left it).
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  assert.ok(Math.abs(reports[6]!.driftScore! - mean(s.slice(0, 7))) < 1e-12);
  assert.ok(Math.abs(reports[7]!.driftScore! - mean(s.slice(1, 8))) < 1e-12);
});

rule('a day without data ends a run and scores null', () => {
  const { reports } = run([shifted, shifted, null, shifted]);
  assert.is(reports[2]!.score, null);
  assert.is(reports[2]!.level, 'none');
  assert.equal(reports.map((r) => r.streak), [1, 2, 0, 1]);
  assert.ok(reports.every((r) => !r.breach));
});

rule('a gap between closes counts as days without data', () => {
  const base = baselineOf(uniform);
  let state: DriftState = { ...initialDrift(), baseline: base };
  const edges = { x: base.features.x!.edges };
  state = closeDay(state, 't', '2026-03-02', aggregateDay(events('2026-03-02', shifted), edges), null).state;
  state = closeDay(state, 't', '2026-03-03', aggregateDay(events('2026-03-03', shifted), edges), null).state;
  const r = closeDay(state, 't', '2026-03-06', aggregateDay(events('2026-03-06', shifted), edges), null);
  assert.is(r.report.streak, 1, 'days 4 and 5 broke the run');
  assert.equal(r.state.history.map((h) => h.day), ['2026-03-02', '2026-03-03', '2026-03-04', '2026-03-05', '2026-03-06']);
});

rule('thresholds are per tenant: a lower critical breaches sooner', () => {
  const base = baselineOf(uniform);
  let state: DriftState = { ...initialDrift({ psiCritical: 0.01, breachDays: 2 }), baseline: base };
  const slight = uniform.map((x) => (x < 5 ? x + 10 : x)); // half of decile 1 moves to decile 2: PSI ≈ 0.055
  const edges = { x: base.features.x!.edges };
  const first = closeDay(state, 't', '2026-03-02', aggregateDay(events('2026-03-02', slight), edges), null);
  state = first.state;
  const second = closeDay(state, 't', '2026-03-03', aggregateDay(events('2026-03-03', slight), edges), null);
  assert.ok(first.report.score! > 0.01 && first.report.score! < 0.25);
  assert.is(second.report.breachStarted, true);
});

rule.run();

const win = suite('drift window: live buckets and recomputation');


win('live binning equals the recomputation of the same events, in any order', () => {
  const base = baselineOf(uniform);
  fc.assert(
    fc.property(fc.array(fc.double({ min: -50, max: 150, noNaN: true }), { maxLength: 200 }), fc.integer({ min: 1, max: 7 }), (values, cut) => {
      const evs = events('2026-03-02', values, { actual: 10 });
      let state: DriftState = { ...initialDrift(), baseline: base };
      // Two live batches, the second first: order must not matter.
      const k = Math.floor((values.length * cut) / 8);
      state = observe(state, evs.slice(k));
      state = observe(state, evs.slice(0, k));
      const live = state.open['2026-03-02'] ?? aggregateDay([], { x: base.features.x!.edges });
      const recomputed = aggregateDay(evs, { x: base.features.x!.edges });
      assert.equal(live.n, recomputed.n);
      assert.equal(live.features.x ?? [], recomputed.features.x ?? []);
      assert.is(live.labelled, recomputed.labelled);
      if (values.length) assert.ok(Math.abs(live.errors[M]!.sumAbs - recomputed.errors[M]!.sumAbs) <= 1e-9 * Math.max(1, recomputed.errors[M]!.sumAbs));
    }),
  );
});

win('events of a closed day are late and change nothing', () => {
  const { state } = run([uniform]);
  const after = observe(state, events(addDays(D0, 1), [1, 2, 3]));
  assert.is(after.late, 3);
  assert.equal(after.open, state.open);
});

win('a label-only event adds its error, not an observation', () => {
  const base = baselineOf(uniform);
  let state: DriftState = { ...initialDrift(), baseline: base };
  state = observe(state, events('2026-03-02', [5]));
  state = observe(state, [{ ts: '2026-03-02T00:00:00.000Z', modelVersionId: M, features: {}, prediction: 5, actual: 3, labelOnly: true }]);
  const day = state.open['2026-03-02']!;
  assert.is(day.n, 1);
  assert.is(day.labelled, 1);
  assert.equal(day.errors[M], { n: 1, sumAbs: 2, sumSq: 4, sumSigned: 2 });
});

win('the next day to close is the earliest open one, then each following day', () => {
  let state = initialDrift();
  assert.is(nextDayToClose(state), null);
  state = observe(state, [...events('2026-03-05', [1]), ...events('2026-03-03', [1])]);
  assert.is(nextDayToClose(state), '2026-03-03');
  state = closeDay(state, 't', '2026-03-03', aggregateDay([], null), null).state;
  assert.is(nextDayToClose(state), '2026-03-04');
  assert.is(closeTimeOf('2026-03-04', state.config).toISOString(), '2026-03-05T00:15:00.000Z');
});

win('a first baseline given at close becomes the reference; without one a day scores null', () => {
  const state = initialDrift();
  const without = closeDay(state, 't', '2026-03-02', aggregateDay(events('2026-03-02', uniform), null), null);
  assert.is(without.report.score, null);
  assert.is(without.report.baseline, null);
  const base = baselineOf(uniform);
  const withBase = closeDay(state, 't', '2026-03-02', aggregateDay(events('2026-03-02', uniform), { x: base.features.x!.edges }), base);
  assert.ok(withBase.report.score !== null && withBase.report.score < 1e-12);
  assert.is(withBase.state.baseline, base);
});

win('a baseline reset starts the run over and clears live bins on old edges', () => {
  const { state } = run([shifted, shifted]);
  const live = observe(state, events(addDays(D0, 3), [1, 2]));
  const reset = replaceBaseline(live, baselineOf(shifted));
  assert.is(reset.streak, 0);
  assert.equal(reset.open[addDays(D0, 3)]!.features, {});
  assert.is(reset.open[addDays(D0, 3)]!.n, 2);
});

win('baseline: decile edges per feature, error sums per model; a constant feature gets one edge at its value', () => {
  const evs = events(D0, uniform).map((e, i) => ({ ...e, features: { x: e.features.x!, c: 1 }, actual: i % 2 ? e.prediction + 1 : e.prediction - 1 }));
  const b = buildBaseline(evs, { takenAt: 'now', fromDay: D0, toDay: D0, by: 'u', reason: 'r', bins: 10 });
  assert.equal(Object.keys(b.features), ['c', 'x']);
  assert.equal(b.features.c, { edges: [1], counts: [0, 1000] });
  assert.is(b.features.x!.edges.length, 9);
  assert.is(b.features.x!.counts.reduce((a, c) => a + c, 0), 1000);
  assert.equal(b.errors[M], { n: 1000, sumAbs: 1000, sumSq: 1000, sumSigned: 0 });
});

win('report: models carry MAE, RMSE, bias and the delta against the baseline MAE', () => {
  const base = { ...baselineOf(uniform), errors: { [M]: { n: 2, sumAbs: 2, sumSq: 2, sumSigned: 0 } } };
  let state: DriftState = { ...initialDrift(), baseline: base };
  // errors +1, -3: MAE 2, RMSE √5, bias -1; baseline MAE 1 → +100 %.
  const day = [
    { ts: '2026-03-02T01:00:00Z', modelVersionId: M, features: { x: 1 }, prediction: 2, actual: 1 },
    { ts: '2026-03-02T02:00:00Z', modelVersionId: M, features: { x: 2 }, prediction: 0, actual: 3 },
  ];
  const r = closeDay(state, 't', '2026-03-02', aggregateDay(day, { x: base.features.x!.edges }), null).report;
  assert.equal(r.models[M], { n: 2, mae: 2, rmse: Math.sqrt(5), bias: -1, baselineMae: 1, relativeMaeDelta: 1 });
  assert.is(r.labelShare, 1);
  assert.is(r.lastEventTs, '2026-03-02T02:00:00Z');

});

win('dayOf: the fast path for canonical timestamps agrees with Date everywhere', () => {
  fc.assert(
    fc.property(fc.date({ min: new Date('1970-01-01T00:00:00Z'), max: new Date('2999-12-31T23:59:59Z'), noInvalidDate: true }), (d) => {
      assert.is(dayOf(d.toISOString()), d.toISOString().slice(0, 10));
    }),
  );
  // Strings of the canonical shape that are not real instants go the long way (and agree with Date).
  for (const ts of ['2026-02-30T00:00:00.000Z', '2026-04-31T12:00:00.000Z', '2025-02-29T00:00:00.000Z', '2024-02-29T23:59:59.999Z']) {
    assert.is(dayOf(ts), new Date(ts).toISOString().slice(0, 10), ts);
  }
  assert.is(dayOf('2026-03-01T01:30:00+02:00'), '2026-02-28', 'an offset is honoured');
});

win.run();
