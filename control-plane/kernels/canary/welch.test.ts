import fc from 'fast-check';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { NonFiniteValueError } from '../binning';
import { EMPTY_ARM, NegativeErrorError, mergeArms, sampleVariance, summarizeArm, type ArmSummary } from './arms';
import { welchTest } from './welch';

const f64 = (xs: readonly number[]) => Float64Array.from(xs);

function near(actual: number, expected: number, abs = 1e-10, rel = 0): void {
  assert.ok(Math.abs(actual - expected) <= Math.max(abs, rel * Math.abs(expected)), `${actual} ≠ ${expected}`);
}

// Also in mann-whitney.test.ts: many ties, 300 and 250 values.
const BIG_CONTROL = f64(Array.from({ length: 300 }, (_, i) => ((i * 37) % 53) / 10));
const BIG_CANARY = f64(Array.from({ length: 250 }, (_, j) => ((j * 29) % 47) / 9));

// ---------------------------------------------------------------- reference tables

test('welchTest: five against three values by hand, and scipy', () => {
  // control [1,2,3,4,5]: mean 3, s² = (4+1+0+1+4)/4 = 2.5;  canary [2,4,6]: mean 4, s² = (4+0+4)/2 = 4
  // se² = 4/3 + 2.5/5 = 1.8333…, se = 1.3540064007…, t = (4 - 3)/se = 0.7385489458759964
  // df = 1.8333…² / ((4/3)²/2 + 0.5²/4) = 3.3611…/0.951388… = 3.532846715328467
  // scipy 1.17.1 ttest_ind([2,4,6], [1,2,3,4,5], equal_var=False): p two-sided 0.5062141716528481,
  // alternative='less' 0.746892914173576, 'greater' 0.25310708582642405.
  const r = welchTest(summarizeArm(f64([1, 2, 3, 4, 5])), summarizeArm(f64([2, 4, 6])));
  near(r.difference, 1, 1e-15);
  near(r.standardError, Math.sqrt(11 / 6), 1e-15);
  near(r.statistic, 0.7385489458759964, 1e-14);
  near(r.df, 3.532846715328467, 1e-13);
  near(r.pTwoSided, 0.5062141716528481, 1e-12);
  near(r.pLess, 0.746892914173576, 1e-12);
  near(r.pGreater, 0.25310708582642405, 1e-12);
});

test('welchTest: 300 against 250 tied values, with and without a null difference (scipy)', () => {
  // scipy 1.17.1 ttest_ind(canary, control, equal_var=False) and, for Δ₀ = 0.02·mean(control),
  // ttest_ind(canary - Δ₀, control, equal_var=False).
  const control = summarizeArm(BIG_CONTROL);
  const canary = summarizeArm(BIG_CANARY);
  const r = welchTest(control, canary);
  near(r.statistic, -0.4573171997707306, 1e-12);
  near(r.df, 532.9545811809327, 1e-9);
  near(r.pTwoSided, 0.6476294268016616, 1e-12);
  near(r.pLess, 0.3238147134008308, 1e-12);
  near(r.pGreater, 0.6761852865991692, 1e-12);
  const shifted = welchTest(control, canary, 0.02 * control.mean);
  near(shifted.statistic, -0.8564350374700772, 1e-12);
  near(shifted.pTwoSided, 0.39214209198007194, 1e-12);
  near(shifted.pLess, 0.19607104599003597, 1e-12);
  // canary ×0.8: a strong effect, small p-values (scipy: t -4.852223184582003, df 546.3557133055093)
  const strong = welchTest(control, summarizeArm(BIG_CANARY.map((x) => x * 0.8)));
  near(strong.statistic, -4.852223184582003, 1e-12);
  near(strong.df, 546.3557133055093, 1e-9);
  near(strong.pTwoSided, 1.5950255992222273e-6, 0, 1e-9);
  near(strong.pLess, 7.975127996111137e-7, 0, 1e-9);
});

test('welchTest: undefined cases give NaN, not a throw', () => {
  const nan = (r: ReturnType<typeof welchTest>) => [r.statistic, r.df, r.pTwoSided, r.pLess, r.pGreater].every(Number.isNaN);
  assert.ok(nan(welchTest(summarizeArm(f64([1])), summarizeArm(f64([1, 2, 3])))));
  assert.ok(nan(welchTest(summarizeArm(f64([2, 2, 2])), summarizeArm(f64([2, 2])))));
  assert.ok(nan(welchTest(EMPTY_ARM, EMPTY_ARM)));
});

test('summarizeArm: refuses NaN, infinities and negative errors, naming the arm and index', () => {
  assert.throws(() => summarizeArm(f64([1, Number.NaN]), 'control'), (e: unknown) => e instanceof NonFiniteValueError && e.index === 1 && /control/.test(e.message));
  assert.throws(() => summarizeArm(f64([Infinity]), 'canary'), (e: unknown) => e instanceof NonFiniteValueError && e.index === 0);
  assert.throws(() => summarizeArm(f64([0, 1, -0.5]), 'canary'), (e: unknown) => e instanceof NegativeErrorError && e.index === 2 && /canary absolute error at index 2 is -0\.5/.test(e.message));
  assert.equal(summarizeArm(f64([])), EMPTY_ARM);
});

// ---------------------------------------------------------------- properties

const errors = fc.array(fc.double({ min: 0, max: 1e3, noNaN: true }), { minLength: 2, maxLength: 80 });

test('property: merged batch summaries equal the one-shot summary (Chan), any split', () => {
  fc.assert(
    fc.property(errors, fc.nat(), (xs, at) => {
      const cut = at % (xs.length + 1);
      const merged = mergeArms(summarizeArm(f64(xs.slice(0, cut))), summarizeArm(f64(xs.slice(cut))));
      const direct = summarizeArm(f64(xs));
      assert.is(merged.n, direct.n);
      near(merged.mean, direct.mean, 1e-9 * Math.max(1, direct.mean));
      near(merged.m2, direct.m2, 1e-7 * Math.max(1, direct.m2));
    }),
    { numRuns: 500 },
  );
});

test('property: p-values in [0, 1]; swapping the arms negates t and swaps the one-sided p-values; order does not matter', () => {
  fc.assert(
    fc.property(errors, errors, (a, b) => {
      const ka = summarizeArm(f64(a));
      const cb = summarizeArm(f64(b));
      const r = welchTest(ka, cb);
      if (Number.isNaN(r.statistic)) return;
      for (const p of [r.pTwoSided, r.pLess, r.pGreater]) assert.ok(p >= 0 && p <= 1);
      near(r.pLess + r.pGreater, 1, 1e-12);
      const swapped = welchTest(cb, ka);
      near(swapped.statistic, -r.statistic, 1e-9 * Math.max(1, Math.abs(r.statistic)));
      near(swapped.pLess, r.pGreater, 1e-12);
      near(swapped.pTwoSided, r.pTwoSided, 1e-12);
      const reversed = welchTest(summarizeArm(f64([...a].reverse())), summarizeArm(f64([...b].reverse())));
      near(reversed.pTwoSided, r.pTwoSided, 1e-9);
    }),
    { numRuns: 500 },
  );
});

test('property: sampleVariance matches the textbook formula', () => {
  fc.assert(
    fc.property(errors, (xs) => {
      const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
      const s2 = xs.reduce((s, x) => s + (x - mean) ** 2, 0) / (xs.length - 1);
      const arm: ArmSummary = summarizeArm(f64(xs));
      near(sampleVariance(arm), s2, 1e-9 * Math.max(1, s2));
    }),
    { numRuns: 300 },
  );
});

test.run();
