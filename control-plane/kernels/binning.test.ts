import fc from 'fast-check';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { EmptyInputError, NonFiniteValueError, baselineBins, histogram, mergeCounts, quantileEdges } from './binning';

const isA = (cls: new (...args: never[]) => Error) => (e: unknown) => e instanceof cls;
const f64 = (xs: readonly number[]) => Float64Array.from(xs);
const list = (xs: ArrayLike<number>) => Array.from(xs);

function closeTo(actual: ArrayLike<number>, expected: readonly number[], tol = 1e-9): void {
  assert.is(actual.length, expected.length, `length ${actual.length} ≠ ${expected.length}`);
  expected.forEach((e, i) => assert.ok(Math.abs(actual[i]! - e) <= tol, `[${i}] ${actual[i]} ≠ ${e}`));
}

/** The definition, in the plainest code: count edges ≤ v. */
function naiveHistogram(values: ArrayLike<number>, edges: ArrayLike<number>): number[] {
  const counts = new Array<number>(edges.length + 1).fill(0);
  for (let i = 0; i < values.length; i++) {
    let bin = 0;
    while (bin < edges.length && values[i]! >= edges[bin]!) bin++;
    counts[bin]!++;
  }
  return counts;
}

function shuffled(xs: Float64Array, seed: number): Float64Array {
  const out = Float64Array.from(xs);
  let s = seed >>> 0;
  for (let i = out.length - 1; i > 0; i--) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    const j = s % (i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

const finite = fc.double({ noNaN: true, noDefaultInfinity: true, min: -1e12, max: 1e12 });
const anyNumber = fc.double({ noNaN: true });
/** Strictly ascending finite edges (-0 and 0 are one value); lengths on both sides of the unrolled/binary-search switch (9). */
const edgesArb = fc.uniqueArray(finite, { minLength: 0, maxLength: 40, comparator: 'SameValueZero' }).map((xs) => Float64Array.from(xs).sort());

// ---------------------------------------------------------------- reference tables

test('quantileEdges: type 7 quartiles, by hand', () => {
  // sorted [1, 1, 2, 3, 4, 5, 6, 9], n = 8; h = (n-1)·k/4 = 7k/4:
  // k=1: h = 1.75 → x[1] + 0.75·(x[2] - x[1]) = 1 + 0.75·1 = 1.75
  // k=2: h = 3.5  → x[3] + 0.5·(x[4] - x[3])  = 3 + 0.5·1  = 3.5
  // k=3: h = 5.25 → x[5] + 0.25·(x[6] - x[5]) = 5 + 0.25·1 = 5.25
  // (numpy.quantile([3,1,4,1,5,9,2,6], [.25,.5,.75]) gives the same.)
  closeTo(quantileEdges(f64([3, 1, 4, 1, 5, 9, 2, 6]), 4), [1.75, 3.5, 5.25]);
});

test('quantileEdges: deciles of 1..20, by hand', () => {
  // n = 20, h = 19k/10: k=1: h = 1.9 → x[1] + 0.9·(x[2] - x[1]) = 2 + 0.9 = 2.9; in general
  // x[j] = j + 1, so q = 1 + 1.9k: 2.9, 4.8, 6.7, 8.6, 10.5, 12.4, 14.3, 16.2, 18.1
  const edges = quantileEdges(f64(Array.from({ length: 20 }, (_, i) => 20 - i)));
  closeTo(edges, [2.9, 4.8, 6.7, 8.6, 10.5, 12.4, 14.3, 16.2, 18.1]);
  // bin 0 = (-∞, 2.9): 1, 2; bins 1–8 hold 2 each; bin 9 = [18.1, +∞): 19, 20
  assert.equal(list(histogram(f64(Array.from({ length: 20 }, (_, i) => i + 1)), edges)), [2, 2, 2, 2, 2, 2, 2, 2, 2, 2]);
});

test('quantileEdges: ties collapse to one edge', () => {
  // sorted [1, 1, 1, 1, 2, 3], h = 5k/4: 1.25 → 1 + 0.25·0 = 1; 2.5 → 1 + 0.5·0 = 1;
  // 3.75 → x[3] + 0.75·(x[4] - x[3]) = 1 + 0.75 = 1.75. Edges [1, 1, 1.75] → [1, 1.75].
  const edges = quantileEdges(f64([2, 1, 1, 3, 1, 1]), 4);
  closeTo(edges, [1, 1.75]);
  // (-∞, 1): none; [1, 1.75): the four 1s; [1.75, +∞): 2 and 3
  assert.equal(list(histogram(f64([2, 1, 1, 3, 1, 1]), edges)), [0, 4, 2]);
  // All equal: one edge, everything in the last bin.
  assert.equal(list(quantileEdges(f64([7, 7, 7]))), [7]);
  assert.equal(list(histogram(f64([7, 7, 7]), f64([7]))), [0, 3]);
});

test('quantileEdges: one bin has no edge; one value has one', () => {
  assert.equal(list(quantileEdges(f64([5, 1, 3]), 1)), []);
  assert.equal(list(quantileEdges(f64([5]), 10)), [5]);
});

test('quantileEdges: interpolating between huge values of opposite sign does not overflow', () => {
  // b - a = 1.8e308 + 1.5e293 overflows to Infinity; (1 - g)·a + g·b does not.
  const edges = quantileEdges(f64([-1.4968802321510399e293, 1.7976931348623143e308]), 2);
  assert.is(edges.length, 1);
  assert.ok(Number.isFinite(edges[0]!) && Math.abs(edges[0]! - 1.7976931348623143e308 / 2) <= 1e293);
});

test('quantileEdges: refuses NaN, ±Infinity, an empty baseline and bad bins', () => {
  assert.throws(() => quantileEdges(f64([1, Number.NaN, 2])), (e: unknown) => e instanceof NonFiniteValueError && e.index === 1);
  assert.throws(() => quantileEdges(f64([1, 2, Infinity])), (e: unknown) => e instanceof NonFiniteValueError && e.index === 2);
  assert.throws(() => quantileEdges(f64([])), isA(EmptyInputError));
  for (const bins of [0, -1, 2.5, Number.NaN]) assert.throws(() => quantileEdges(f64([1]), bins), isA(RangeError));
  // (n-1)·(bins-1) must stay an exact integer.
  assert.throws(() => quantileEdges(f64([1, 2, 3]), 2 ** 52 + 2), /too many/);
});

test('histogram: bins are left-closed; ±Infinity and -0 land where they compare', () => {
  const edges = f64([0, 1, 2]);
  // -Inf, -1 → (-∞, 0); -0 and 0 are ≥ 0 → [0, 1); 1 → [1, 2); 2, 3, +Inf → [2, +∞)
  assert.equal(list(histogram(f64([-Infinity, -1, -0, 0, 1, 2, 3, Infinity]), edges)), [2, 2, 1, 3]);
  // The same with more than 9 edges (binary-search path).
  const many = f64([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  assert.equal(list(histogram(f64([-Infinity, -0, 0.5, 10, Infinity, 9.999]), many)), [1, 2, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2]);
  // No edges: one bin.
  assert.equal(list(histogram(f64([1, 2, 3]), f64([]))), [3]);
  assert.equal(list(histogram(f64([]), edges)), [0, 0, 0, 0]);
});

test('histogram: NaN is refused with the index of the first one, on both paths', () => {
  for (const edges of [f64([0, 1]), f64(Array.from({ length: 12 }, (_, i) => i))]) {
    assert.throws(
      () => histogram(f64([0.5, 2, Number.NaN, 3, Number.NaN]), edges),
      (e: unknown) => e instanceof NonFiniteValueError && e.index === 2 && Number.isNaN(e.value),
    );
  }
});

test('histogram: refuses edges that are not strictly ascending and finite', () => {
  assert.throws(() => histogram(f64([1]), f64([1, 1])), /strictly ascending/);
  assert.throws(() => histogram(f64([1]), f64([2, 1])), /strictly ascending/);
  assert.throws(() => histogram(f64([1]), f64([0, Number.NaN])), isA(NonFiniteValueError));
  assert.throws(() => histogram(f64([1]), f64([0, Infinity])), isA(NonFiniteValueError));
});

test('mergeCounts: bin-wise sums; refuses mismatched lengths and overflow', () => {
  assert.equal(list(mergeCounts(Uint32Array.of(1, 2, 3), Uint32Array.of(4, 0, 6))), [5, 2, 9]);
  assert.throws(() => mergeCounts(Uint32Array.of(1), Uint32Array.of(1, 2)), isA(RangeError));
  assert.throws(() => mergeCounts(Uint32Array.of(0xffff_ffff), Uint32Array.of(1)), /overflows/);
});

test('baselineBins: edges from quantiles and the baseline counted on them', () => {
  const b = baselineBins(f64([3, 1, 4, 1, 5, 9, 2, 6]), 4);
  closeTo(b.edges, [1.75, 3.5, 5.25]);
  // (-∞,1.75): 1,1; [1.75,3.5): 2,3; [3.5,5.25): 4,5; [5.25,+∞): 6,9
  assert.equal(list(b.counts), [2, 2, 2, 2]);
});

// ---------------------------------------------------------------- properties

test('property: histogram equals the naive definition and its counts sum to n', () => {
  fc.assert(
    fc.property(fc.array(anyNumber, { maxLength: 300 }), edgesArb, (xs, edges) => {
      const counts = histogram(f64(xs), edges);
      assert.equal(list(counts), naiveHistogram(xs, edges));
      assert.is(
        counts.reduce((a, b) => a + b, 0),
        xs.length,
      );
    }),
    { numRuns: 500 },
  );
});

test('property: histogram and quantile edges do not depend on event order', () => {
  fc.assert(
    fc.property(fc.array(finite, { minLength: 1, maxLength: 300 }), fc.integer({ min: 1, max: 30 }), fc.integer(), (xs, bins, seed) => {
      const values = f64(xs);
      const other = shuffled(values, seed);
      const edges = quantileEdges(values, bins);
      assert.equal(list(quantileEdges(other, bins)), list(edges));
      assert.equal(list(histogram(other, edges)), list(histogram(values, edges)));
    }),
    { numRuns: 300 },
  );
});

test('property: quantile edges are strictly ascending, within the data, at most bins - 1', () => {
  fc.assert(
    fc.property(fc.array(finite, { minLength: 1, maxLength: 200 }), fc.integer({ min: 1, max: 40 }), (xs, bins) => {
      const edges = quantileEdges(f64(xs), bins);
      assert.ok(edges.length <= bins - 1 || (bins === 1 && edges.length === 0));
      const min = Math.min(...xs);
      const max = Math.max(...xs);
      for (let i = 0; i < edges.length; i++) {
        assert.ok(edges[i]! >= min && edges[i]! <= max);
        if (i > 0) assert.ok(edges[i]! > edges[i - 1]!);
      }
    }),
    { numRuns: 300 },
  );
});

test('property: with distinct integers, edge k has exactly ⌈(n-1)·k/bins⌉ values below it', () => {
  // Gaps of at least 1 keep every interpolated edge strictly between its two
  // neighbours (g ≤ 1 - 1/bins), so no quantile collapses: there are bins - 1
  // edges, and below edge k lie x[0..j] when g > 0 (j + 1 = ⌈h⌉ values) or
  // x[0..j-1] when g = 0 (j = h values).
  fc.assert(
    fc.property(fc.uniqueArray(fc.integer({ min: -1e6, max: 1e6 }), { minLength: 2, maxLength: 200 }), fc.integer({ min: 2, max: 20 }), (xs, bins) => {
      const n = xs.length;
      const edges = quantileEdges(f64(xs), bins);
      assert.is(edges.length, bins - 1);
      for (let k = 1; k < bins; k++) {
        const below = xs.filter((x) => x < edges[k - 1]!).length;
        assert.is(below, Math.ceil(((n - 1) * k) / bins), `k=${k}`);
      }
    }),
    { numRuns: 300 },
  );
});

test('property: daily histograms merge into the histogram of the union, associatively', () => {
  fc.assert(
    fc.property(fc.array(fc.array(anyNumber, { maxLength: 60 }), { minLength: 3, maxLength: 3 }), edgesArb, ([x, y, z], edges) => {
      const [hx, hy, hz] = [x!, y!, z!].map((d) => histogram(f64(d), edges)) as [Uint32Array, Uint32Array, Uint32Array];
      const all = histogram(f64([...x!, ...y!, ...z!]), edges);
      assert.equal(list(mergeCounts(mergeCounts(hx, hy), hz)), list(all));
      assert.equal(list(mergeCounts(hx, mergeCounts(hy, hz))), list(all));
      assert.equal(list(mergeCounts(hy, hx)), list(mergeCounts(hx, hy)));
    }),
    { numRuns: 300 },
  );
});

test.run();
