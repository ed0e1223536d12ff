import fc from 'fast-check';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { NonFiniteValueError } from './binning';
import { EMPTY_ERRORS, accumulateErrors, errorStats, finishErrors, mergeErrors, type ErrorAccumulator } from './errors';

const TOL = 1e-9;
const f64 = (xs: readonly number[]) => Float64Array.from(xs);

function near(actual: number, expected: number, tol = TOL): void {
  assert.ok(Math.abs(actual - expected) <= tol * Math.max(1, Math.abs(expected)), `${actual} ≠ ${expected} (±${tol})`);
}

function nearAcc(a: ErrorAccumulator, b: ErrorAccumulator): void {
  assert.is(a.n, b.n);
  // Relative to the magnitude of what was summed (Σ|err| bounds every sum's rounding).
  const scale = Math.max(1, a.sumAbs, b.sumAbs);
  for (const key of ['sumAbs', 'sumSq', 'sumSigned'] as const) {
    const s = key === 'sumSq' ? Math.max(1, a.sumSq, b.sumSq) : scale;
    assert.ok(Math.abs(a[key] - b[key]) <= TOL * s, `${key}: ${a[key]} ≠ ${b[key]}`);
  }
}

// ---------------------------------------------------------------- reference tables

test('errorStats: four pairs by hand', () => {
  // pred [3, 5, 2.5, 7], actual [2.5, 5, 4, 8] → err = pred - actual = [0.5, 0, -1.5, -1]
  // MAE  = (0.5 + 0 + 1.5 + 1) / 4 = 3 / 4 = 0.75
  // RMSE = √((0.25 + 0 + 2.25 + 1) / 4) = √0.875 = 0.9354143466934853
  // bias = (0.5 + 0 - 1.5 - 1) / 4 = -2 / 4 = -0.5  (under-prediction)
  const s = errorStats(f64([3, 5, 2.5, 7]), f64([2.5, 5, 4, 8]));
  assert.is(s.n, 4);
  near(s.mae, 0.75);
  near(s.rmse, 0.9354143466934853);
  near(s.bias, -0.5);
});

test('errorStats: merged daily sums give the same figures', () => {
  // day 1: err [0.5, 0]   → n 2, Σ|e| 0.5, Σe² 0.25, Σe 0.5
  // day 2: err [-1.5, -1] → n 2, Σ|e| 2.5, Σe² 3.25, Σe -2.5
  // merged: n 4, Σ|e| 3, Σe² 3.5, Σe -2 → as above
  const day1 = accumulateErrors(f64([3, 5]), f64([2.5, 5]));
  const day2 = accumulateErrors(f64([2.5, 7]), f64([4, 8]));
  assert.equal(day1, { n: 2, sumAbs: 0.5, sumSq: 0.25, sumSigned: 0.5 });
  assert.equal(day2, { n: 2, sumAbs: 2.5, sumSq: 3.25, sumSigned: -2.5 });
  assert.equal(mergeErrors(day1, day2), { n: 4, sumAbs: 3, sumSq: 3.5, sumSigned: -2 });
  assert.equal(finishErrors(mergeErrors(day1, day2)), errorStats(f64([3, 5, 2.5, 7]), f64([2.5, 5, 4, 8])));
});

test('finishErrors: no pairs → n 0 and NaN statistics', () => {
  const s = finishErrors(EMPTY_ERRORS);
  assert.is(s.n, 0);
  assert.ok(Number.isNaN(s.mae) && Number.isNaN(s.rmse) && Number.isNaN(s.bias));
  assert.equal(accumulateErrors(f64([]), f64([])), EMPTY_ERRORS);
});

test('accumulateErrors: refuses mismatched lengths and non-finite values, naming which', () => {
  assert.throws(() => accumulateErrors(f64([1, 2]), f64([1])), /2 values and actual 1/);
  assert.throws(
    () => accumulateErrors(f64([1, Number.NaN]), f64([1, 2])),
    (e: unknown) => e instanceof NonFiniteValueError && e.index === 1 && /prediction/.test(e.message),
  );
  assert.throws(
    () => accumulateErrors(f64([1, 2]), f64([Infinity, 2])),
    (e: unknown) => e instanceof NonFiniteValueError && e.index === 0 && /actual/.test(e.message),
  );
  assert.throws(() => accumulateErrors(f64([1.5e308]), f64([-1.5e308])), /overflows/);
});

// ---------------------------------------------------------------- properties

const value = fc.double({ noNaN: true, noDefaultInfinity: true, min: -1e6, max: 1e6 });
const pairs = fc.array(fc.tuple(value, value), { maxLength: 60 });
const acc = (ps: ReadonlyArray<readonly [number, number]>) =>
  accumulateErrors(
    f64(ps.map((p) => p[0])),
    f64(ps.map((p) => p[1])),
  );

test('property: merge is commutative exactly, and EMPTY_ERRORS is its identity', () => {
  fc.assert(
    fc.property(pairs, pairs, (x, y) => {
      assert.equal(mergeErrors(acc(x), acc(y)), mergeErrors(acc(y), acc(x)));
      assert.equal(mergeErrors(acc(x), EMPTY_ERRORS), acc(x));
      assert.equal(mergeErrors(EMPTY_ERRORS, acc(x)), acc(x));
    }),
    { numRuns: 500 },
  );
});

test('property: merge is associative (to rounding) and equals the one-shot computation', () => {
  fc.assert(
    fc.property(pairs, pairs, pairs, (x, y, z) => {
      const [a, b, c] = [acc(x), acc(y), acc(z)];
      const left = mergeErrors(mergeErrors(a, b), c);
      const right = mergeErrors(a, mergeErrors(b, c));
      const oneShot = acc([...x, ...y, ...z]);
      nearAcc(left, right);
      nearAcc(left, oneShot);
      const merged = finishErrors(left);
      const direct = errorStats(
        f64([...x, ...y, ...z].map((p) => p[0])),
        f64([...x, ...y, ...z].map((p) => p[1])),
      );
      assert.is(merged.n, direct.n);
      if (direct.n > 0) {
        const scale = Math.max(1, direct.mae);
        assert.ok(Math.abs(merged.mae - direct.mae) <= TOL * scale);
        assert.ok(Math.abs(merged.bias - direct.bias) <= TOL * scale);
        assert.ok(Math.abs(merged.rmse - direct.rmse) <= TOL * Math.max(1, direct.rmse));
      }
    }),
    { numRuns: 500 },
  );
});

test('property: with integer errors the merge is associative exactly', () => {
  const int = fc.integer({ min: -1e6, max: 1e6 });
  const intPairs = fc.array(fc.tuple(int, int), { maxLength: 40 });
  fc.assert(
    fc.property(intPairs, intPairs, intPairs, (x, y, z) => {
      const [a, b, c] = [acc(x), acc(y), acc(z)];
      assert.equal(mergeErrors(mergeErrors(a, b), c), mergeErrors(a, mergeErrors(b, c)));
      assert.equal(mergeErrors(mergeErrors(a, b), c), acc([...x, ...y, ...z]));
    }),
    { numRuns: 300 },
  );
});

test('property: error statistics do not depend on event order', () => {
  fc.assert(
    fc.property(pairs, (x) => {
      const reversed = [...x].reverse();
      const a = errorStats(f64(x.map((p) => p[0])), f64(x.map((p) => p[1])));
      const b = errorStats(f64(reversed.map((p) => p[0])), f64(reversed.map((p) => p[1])));
      assert.is(a.n, b.n);
      if (a.n > 0) {
        near(b.mae, a.mae);
        near(b.rmse, a.rmse);
        assert.ok(Math.abs(b.bias - a.bias) <= TOL * Math.max(1, a.mae));
      }
      // MAE ≤ RMSE and |bias| ≤ MAE, as for any sample (up to rounding, and underflow of tiny squares).
      if (a.n > 0) assert.ok(a.mae <= a.rmse * (1 + 1e-12) + 1e-150 && Math.abs(a.bias) <= a.mae * (1 + 1e-12));
    }),
    { numRuns: 500 },
  );
});

test.run();
