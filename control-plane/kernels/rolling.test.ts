import fc from 'fast-check';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { DEFAULT_PSI_THRESHOLDS } from './divergence';
import { driftScoreSeries, rollingMean, sustainedBreach } from './rolling';

const TOL = 1e-9;
const CRITICAL = DEFAULT_PSI_THRESHOLDS.critical; // 0.25
const f64 = (xs: readonly number[]) => Float64Array.from(xs);

function closeTo(actual: Float64Array, expected: readonly number[]): void {
  assert.is(actual.length, expected.length);
  expected.forEach((e, i) => {
    const a = actual[i]!;
    assert.ok(Number.isNaN(e) ? Number.isNaN(a) : Math.abs(a - e) <= TOL, `[${i}] ${a} ≠ ${e}`);
  });
}

// ---------------------------------------------------------------- rolling mean

test('rollingMean: window 3 by hand, partial at the start', () => {
  // [1, 2, 3, 4, 5, 6]: 1/1 = 1; (1+2)/2 = 1.5; (1+2+3)/3 = 2; (2+3+4)/3 = 3; (3+4+5)/3 = 4; (4+5+6)/3 = 5
  closeTo(rollingMean(f64([1, 2, 3, 4, 5, 6]), 3), [1, 1.5, 2, 3, 4, 5]);
});

test('rollingMean: days without data (NaN) are left out; minPeriods', () => {
  // [1, NaN, 3, NaN, NaN, NaN], window 2: 1; (1)/1 = 1; (3)/1 = 3; (3)/1 = 3; none → NaN; none → NaN
  closeTo(rollingMean(f64([1, Number.NaN, 3, Number.NaN, Number.NaN, Number.NaN]), 2), [1, 1, 3, 3, Number.NaN, Number.NaN]);
  // minPeriods 2, window 2 over [1, 2, NaN, 4]: [1] → 1 value → NaN; [1, 2] → 1.5; [2, NaN] → 1 value → NaN; [NaN, 4] → NaN
  closeTo(rollingMean(f64([1, 2, Number.NaN, 4]), 2, 2), [Number.NaN, 1.5, Number.NaN, Number.NaN]);
  assert.throws(() => rollingMean(f64([1]), 0), /window/);
  assert.throws(() => rollingMean(f64([1]), 2, 3), /minPeriods/);
});

test('driftScoreSeries: the 7-day mean, by hand', () => {
  // daily [0.1 ×6, 0.8, 0.1]: day 6 = (0.6 + 0.8)/7 = 0.2; day 7 = (0.1·5 + 0.8 + 0.1)/7 = 1.4/7 = 0.2
  const s = driftScoreSeries(f64([0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.8, 0.1]));
  closeTo(s, [0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.2, 0.2]);
});

test('property: rollingMean equals the mean of each trailing window (no NaN)', () => {
  fc.assert(
    fc.property(fc.array(fc.double({ min: -1e6, max: 1e6, noNaN: true }), { maxLength: 50 }), fc.integer({ min: 1, max: 10 }), (xs, w) => {
      const out = rollingMean(f64(xs), w);
      xs.forEach((_, i) => {
        const win = xs.slice(Math.max(0, i - w + 1), i + 1);
        const mean = win.reduce((a, b) => a + b, 0) / win.length;
        assert.ok(Math.abs(out[i]! - mean) <= TOL * Math.max(1, Math.abs(mean)));
      });
    }),
  );
});

// ---------------------------------------------------------------- the 3-consecutive-day rule

test('sustainedBreach: 2 days over then 1 under → no breach', () => {
  const v = sustainedBreach(f64([0.3, 0.4, 0.1]), CRITICAL);
  assert.equal(v, { breached: false, confirmedAt: -1, streak: 0 });
});

test('sustainedBreach: 3 days over → breach, confirmed on the third day', () => {
  assert.equal(sustainedBreach(f64([0.3, 0.4, 0.26]), CRITICAL), { breached: true, confirmedAt: 2, streak: 3 });
  // Ongoing run after the breach keeps counting.
  assert.equal(sustainedBreach(f64([0.1, 0.3, 0.4, 0.26, 0.9]), CRITICAL), { breached: true, confirmedAt: 3, streak: 4 });
});

test('sustainedBreach: a 7-day mean that crosses only through one outlier day → no breach', () => {
  // daily: six quiet days at 0.2, one outlier at 0.9, then quiet again.
  // 7-day mean on day 6 = (6·0.2 + 0.9)/7 = 2.1/7 = 0.3 > 0.25, and it stays 0.3 while the outlier is in
  // the window (days 6–12), so the DriftScore is above critical for 7 consecutive days…
  const daily = f64([0.2, 0.2, 0.2, 0.2, 0.2, 0.2, 0.9, 0.2, 0.2, 0.2, 0.2, 0.2, 0.2, 0.2]);
  const score = driftScoreSeries(daily);
  closeTo(score.subarray(6, 13), [0.3, 0.3, 0.3, 0.3, 0.3, 0.3, 0.3]);
  assert.ok(score[13]! < CRITICAL); // (7·0.2)/7 = 0.2 once the outlier leaves
  // …but only one day was above critical, so there is no breach.
  assert.equal(sustainedBreach(daily, CRITICAL), { breached: false, confirmedAt: -1, streak: 0 });
});

test('sustainedBreach: at the threshold is not above; a day without data ends the run', () => {
  assert.is(sustainedBreach(f64([0.25, 0.25, 0.25]), CRITICAL).breached, false);
  assert.is(sustainedBreach(f64([0.3, 0.3, Number.NaN, 0.3]), CRITICAL).breached, false);
  assert.equal(sustainedBreach(f64([0.3, 0.3, 0.1, 0.3, 0.3, 0.3]), CRITICAL), { breached: true, confirmedAt: 5, streak: 3 });
  assert.equal(sustainedBreach(f64([]), CRITICAL), { breached: false, confirmedAt: -1, streak: 0 });
  // Other run lengths.
  assert.is(sustainedBreach(f64([0.3]), CRITICAL, 1).confirmedAt, 0);
  assert.is(sustainedBreach(f64([0.3, 0.3, 0.3, 0.3]), CRITICAL, 5).breached, false);
  assert.throws(() => sustainedBreach(f64([]), CRITICAL, 0), /days/);
});

test('property: a breach is confirmed exactly when some run of 3 consecutive days is above critical', () => {
  fc.assert(
    fc.property(fc.array(fc.constantFrom(0.05, 0.2, 0.25, 0.26, 0.5, Number.NaN), { maxLength: 30 }), (xs) => {
      const over = xs.map((x) => x > CRITICAL);
      const firstRunEnd = over.findIndex((_, i) => i >= 2 && over[i] && over[i - 1] && over[i - 2]);
      const v = sustainedBreach(f64(xs), CRITICAL);
      assert.is(v.confirmedAt, firstRunEnd);
      assert.is(v.breached, firstRunEnd !== -1);
      let streak = 0;
      for (let i = xs.length - 1; i >= 0 && over[i]; i--) streak++;
      assert.is(v.streak, streak);
    }),
    { numRuns: 1000 },
  );
});

test.run();
