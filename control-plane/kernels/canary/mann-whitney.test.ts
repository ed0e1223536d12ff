import fc from 'fast-check';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { EmptyInputError } from '../binning';
import { NegativeErrorError } from './arms';
import { mannWhitneyU } from './mann-whitney';

const f64 = (xs: readonly number[]) => Float64Array.from(xs);
const BIG_CONTROL = f64(Array.from({ length: 300 }, (_, i) => ((i * 37) % 53) / 10));
const BIG_CANARY = f64(Array.from({ length: 250 }, (_, j) => ((j * 29) % 47) / 9));

function near(actual: number, expected: number, abs = 1e-10, rel = 0): void {
  assert.ok(Math.abs(actual - expected) <= Math.max(abs, rel * Math.abs(expected)), `${actual} ≠ ${expected}`);
}

// ---------------------------------------------------------------- reference tables

test('mannWhitneyU: a small table with ties, by hand and scipy', () => {
  // control [1,2,2,4,7], canary [2,3,3,5]; sorted with arms:
  //   1k | 2k 2k 2c | 3c 3c | 4k | 5c | 7k   → ranks 1 | 3 3 3 | 5.5 5.5 | 7 | 8 | 9
  // R_canary = 3 + 5.5 + 5.5 + 8 = 22,  U₁ = 22 - 4·5/2 = 12,  U₂ = 4·5 - 12 = 8,  μ = 10
  // ties: a group of 3 (3³-3 = 24) and of 2 (6): Σ = 30;  n = 9, n(n-1) = 72
  // σ² = 20/12 · (10 - 30/72) = 15.972222…,  σ = 3.996526…
  // pGreater = P(Z > (12 - 10 - ½)/σ) = P(Z > 0.37532…),  pLess = P(Z > (8 - 10 - ½)/σ),  two-sided = 2·P(Z > 0.37532…)
  // scipy 1.17.1 mannwhitneyu([2,3,3,5], [1,2,2,4,7], method='asymptotic', use_continuity=True):
  //   statistic 12.0, two-sided 0.7074180726307056, less 0.7341927115591939, greater 0.3537090363153528
  const r = mannWhitneyU(f64([1, 2, 2, 4, 7]), f64([2, 3, 3, 5]));
  assert.is(r.statistic, 12);
  assert.is(r.mean, 10);
  near(r.sd, Math.sqrt((20 / 12) * (10 - 30 / 72)), 1e-15);
  near(r.pTwoSided, 0.7074180726307056, 1e-14);
  near(r.pLess, 0.7341927115591939, 1e-14);
  near(r.pGreater, 0.3537090363153528, 1e-14);
});

test('mannWhitneyU: 300 against 250 tied values, plain and with the control scaled (scipy)', () => {
  // scipy 1.17.1 mannwhitneyu(canary, control[, ·1.02], method='asymptotic', use_continuity=True)
  const r = mannWhitneyU(BIG_CONTROL, BIG_CANARY);
  assert.is(r.statistic, 36667);
  near(r.pTwoSided, 0.6536912756633202, 1e-12);
  near(r.pLess, 0.3268456378316601, 1e-12);
  near(r.pGreater, 0.6733487479387595, 1e-12);
  const scaled = mannWhitneyU(BIG_CONTROL, BIG_CANARY, 1.02);
  assert.is(scaled.statistic, 35958);
  assert.is(scaled.controlScale, 1.02);
  near(scaled.pTwoSided, 0.4061358431307489, 1e-12);
  near(scaled.pLess, 0.20306792156537445, 1e-12);
  near(scaled.pGreater, 0.7970842979875693, 1e-12);
  // canary ×0.8: statistic 29456, two-sided 1.459723940092558e-05, less 7.29861970046279e-06
  const strong = mannWhitneyU(BIG_CONTROL, BIG_CANARY.map((x) => x * 0.8));
  assert.is(strong.statistic, 29456);
  near(strong.pTwoSided, 1.459723940092558e-5, 0, 1e-10);
  near(strong.pLess, 7.29861970046279e-6, 0, 1e-10);
});

test('mannWhitneyU: all values tied → NaN p-values; empty arms and bad values refused', () => {
  const r = mannWhitneyU(f64([3, 3]), f64([3, 3, 3]));
  assert.is(r.statistic, 3); // every pair a tie: 6 pairs × ½
  assert.ok(Number.isNaN(r.pTwoSided) && Number.isNaN(r.pLess) && Number.isNaN(r.pGreater));
  assert.throws(() => mannWhitneyU(f64([]), f64([1])), (e: unknown) => e instanceof EmptyInputError);
  assert.throws(() => mannWhitneyU(f64([1]), f64([-1])), (e: unknown) => e instanceof NegativeErrorError && e.arm === 'canary');
  assert.throws(() => mannWhitneyU(f64([1]), f64([1]), 0), /controlScale/);
});

// ---------------------------------------------------------------- properties

// Small integers so that ties are frequent.
const sample = fc.array(fc.integer({ min: 0, max: 12 }).map((x) => x / 4), { minLength: 1, maxLength: 40 });

test('property: U is the pair count (ties ½) of its definition, and the tie term matches a brute-force count', () => {
  fc.assert(
    fc.property(sample, sample, (k, c) => {
      let u = 0;
      for (const x of c) for (const y of k) u += x > y ? 1 : x === y ? 0.5 : 0;
      const r = mannWhitneyU(f64(k), f64(c));
      assert.is(r.statistic, u);
      const all = [...k, ...c];
      const counts = new Map<number, number>();
      for (const v of all) counts.set(v, (counts.get(v) ?? 0) + 1);
      let tie = 0;
      for (const t of counts.values()) tie += t ** 3 - t;
      const n = all.length;
      near(r.sd, Math.sqrt(((k.length * c.length) / 12) * (n + 1 - tie / (n * (n - 1)))), 1e-12);
    }),
    { numRuns: 500 },
  );
});

test('property: p in [0, 1]; swapping arms swaps the one-sided p-values; order invariant; scale invariant', () => {
  fc.assert(
    fc.property(sample, sample, (k, c) => {
      const r = mannWhitneyU(f64(k), f64(c));
      if (Number.isNaN(r.pTwoSided)) return;
      for (const p of [r.pTwoSided, r.pLess, r.pGreater]) assert.ok(p >= 0 && p <= 1);
      const swapped = mannWhitneyU(f64(c), f64(k));
      assert.is(swapped.statistic, k.length * c.length - r.statistic);
      assert.is(swapped.pLess, r.pGreater);
      assert.is(swapped.pTwoSided, r.pTwoSided);
      const reversed = mannWhitneyU(f64([...k].reverse()), f64([...c].reverse()));
      assert.equal(reversed, r);
      // Ranks only: multiplying both arms by 4 (exact in binary) changes nothing.
      const scaled = mannWhitneyU(f64(k.map((x) => x * 4)), f64(c.map((x) => x * 4)));
      assert.equal(scaled, r);
    }),
    { numRuns: 500 },
  );
});

test.run();
