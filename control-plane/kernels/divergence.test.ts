import fc from 'fast-check';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { EmptyInputError, baselineBins, histogram, quantileEdges } from './binning';
import { DEFAULT_PSI_THRESHOLDS, featureDrift, kl, psi, psiLevel, shares } from './divergence';

const TOL = 1e-9;
const f64 = (xs: readonly number[]) => Float64Array.from(xs);
const u32 = (xs: readonly number[]) => Uint32Array.from(xs);
const isA = (cls: new (...args: never[]) => Error) => (e: unknown) => e instanceof cls;

function near(actual: number, expected: number, tol = TOL): void {
  assert.ok(Math.abs(actual - expected) <= tol * Math.max(1, Math.abs(expected)), `${actual} ≠ ${expected} (±${tol})`);
}

// ---------------------------------------------------------------- reference tables

test('shares: no empty bin → count / n exactly', () => {
  // counts [1, 3, 4, 2], n = 10 → [0.1, 0.3, 0.4, 0.2]
  assert.equal(Array.from(shares(u32([1, 3, 4, 2]))), [0.1, 0.3, 0.4, 0.2]);
});

test('shares: empty bins get ε, then everything is divided by 1 + ε·z', () => {
  // counts [0, 3, 1, 6], n = 10, ε = 1e-4, z = 1 empty bin, scale = 1 + 1e-4·1 = 1.0001:
  //   bin 0: 1e-4 / 1.0001      = 0.00009999000099990002
  //   bin 1: 3 / (10 · 1.0001)  = 0.29997000299970006
  //   bin 2: 1 / (10 · 1.0001)  = 0.09999000099990002
  //   bin 3: 6 / (10 · 1.0001)  = 0.5999400059994
  //   sum: (1e-4 + 0.3 + 0.1 + 0.6) / 1.0001 = 1
  const s = shares(u32([0, 3, 1, 6]));
  [9.999000099990002e-5, 0.29997000299970006, 0.09999000099990002, 0.5999400059994].forEach((e, i) => near(s[i]!, e));
  near(s.reduce((a, b) => a + b, 0), 1);
  // Two empty bins, ε = 0.01: scale = 1.02; [0.01/1.02, 0.01/1.02, 1/1.02] = [0.00980392…, 0.00980392…, 0.98039215…]
  const t = shares(u32([0, 0, 5]), 0.01);
  [0.01 / 1.02, 0.01 / 1.02, 1 / 1.02].forEach((e, i) => near(t[i]!, e));
});

test('shares: refuses an empty histogram and a bad epsilon', () => {
  assert.throws(() => shares(u32([0, 0])), isA(EmptyInputError));
  for (const eps of [0, -1e-4, 1, Number.NaN]) assert.throws(() => shares(u32([1]), eps), isA(RangeError));
});

test('psi and kl: a 3-bin table by hand', () => {
  // e = [0.25, 0.25, 0.5], a = [0.5, 0.25, 0.25]
  // PSI = (0.5-0.25)·ln(2) + 0·ln(1) + (0.25-0.5)·ln(0.5) = 0.25·ln2 + 0.25·ln2 = 0.5·ln2 = 0.34657359027997264
  // KL(a‖e) = 0.5·ln2 + 0.25·0 + 0.25·ln(0.5) = 0.25·ln2 = 0.17328679513998632
  // KL(e‖a) = 0.25·ln(0.5) + 0 + 0.5·ln2     = 0.25·ln2 = 0.17328679513998632
  const e = f64([0.25, 0.25, 0.5]);
  const a = f64([0.5, 0.25, 0.25]);
  near(psi(e, a), 0.34657359027997264);
  near(kl(a, e), 0.17328679513998632);
  near(kl(e, a), 0.17328679513998632);
});

test('psi and kl: quartile baseline vs a drifted sample, by hand', () => {
  // Baseline [3, 1, 4, 1, 5, 9, 2, 6], quartile edges [1.75, 3.5, 5.25] (see binning.test.ts), counts [2, 2, 2, 2]
  // → e = [0.25, 0.25, 0.25, 0.25].
  // Current [0, 2, 2, 3, 4, 7, 8, 10, 11, 12]: (-∞,1.75): 0 | [1.75,3.5): 2,2,3 | [3.5,5.25): 4 | [5.25,∞): 7,8,10,11,12
  // → counts [1, 3, 1, 5], n = 10, no empty bin → a = [0.1, 0.3, 0.1, 0.5].
  // PSI = (0.1-0.25)·ln(0.4) + (0.3-0.25)·ln(1.2) + (0.1-0.25)·ln(0.4) + (0.5-0.25)·ln(2)
  //     = 0.3·0.916290731874155 + 0.05·0.1823215567939546 + 0.25·0.6931471805599453
  //     = 0.2748872195622465 + 0.00911607783969773 + 0.17328679513998632 = 0.45729009254193054
  // KL(e‖a) = 0.25·(ln(2.5) + ln(0.8333…) + ln(2.5) + ln(0.5))
  //         = 0.25·(0.9162907318741551 − 0.1823215567939546 + 0.9162907318741551 − 0.6931471805599453)
  //         = 0.25·0.9571127263944103 = 0.2392781815986026
  const drift = featureDrift(baselineBins(f64([3, 1, 4, 1, 5, 9, 2, 6]), 4), f64([0, 2, 2, 3, 4, 7, 8, 10, 11, 12]));
  assert.equal(Array.from(drift.baselineCounts), [2, 2, 2, 2]);
  assert.equal(Array.from(drift.currentCounts), [1, 3, 1, 5]);
  near(drift.psi, 0.45729009254193054);
  near(drift.kl, 0.2392781815986026);
  assert.is(psiLevel(drift.psi), 'critical');
});

test('psi and kl: an empty current bin, smoothed, by hand', () => {
  // e = [0.25 ×4]; current counts [0, 3, 1, 6] → a as in the shares test:
  //   a = [9.999000099990002e-5, 0.29997000299970006, 0.09999000099990002, 0.5999400059994]
  // PSI terms (a-e)·ln(a/e):
  //   bin 0: -0.2499000099990001 · ln(0.00039996000399960006) = -0.2499000099990001 · -7.824146005856625 = 1.9552541650972075
  //   bin 1:  0.0499700029997    · ln(1.1998800119988)        =  0.0499700029997    ·  0.18222156179362123 = 0.009105611989437273
  //   bin 2: -0.15000999900009998 · ln(0.3999600039996001)    = -0.15000999900009998 · -0.9163907268744883 = 0.1374677720221429
  //   bin 3:  0.3499400059994    · ln(2.3997600239976)        =  0.3499400059994    ·  0.8753687423535665  = 0.3063265429508943
  //   PSI = 2.408154092059682
  // KL(e‖a) terms 0.25·ln(0.25/a): 1.9560365014641563 − 0.04555539044840532 + 0.22909768171862208 − 0.21884218558839164
  //   = 1.9207366071459813
  const e = shares(u32([5, 5, 5, 5]));
  const a = shares(u32([0, 3, 1, 6]));
  near(psi(e, a), 2.408154092059682);
  near(kl(e, a), 1.9207366071459813);
});

test('psi and kl: refuse mismatched, empty, zero or non-finite shares', () => {
  assert.throws(() => psi(f64([0.5, 0.5]), f64([1])), /differ in length/);
  assert.throws(() => kl(f64([]), f64([])), isA(EmptyInputError));
  assert.throws(() => psi(f64([0.5, 0.5]), f64([1, 0])), /positive/);
  assert.throws(() => kl(f64([Number.NaN, 1]), f64([0.5, 0.5])), /positive/);
  assert.throws(() => kl(f64([Infinity, 1]), f64([0.5, 0.5])), /positive/);
});

test('psiLevel: strictly above a threshold reaches its level', () => {
  assert.is(psiLevel(0), 'ok');
  assert.is(psiLevel(0.1), 'ok');
  assert.is(psiLevel(0.1000001), 'warn');
  assert.is(psiLevel(0.25), 'warn');
  assert.is(psiLevel(0.2500001), 'critical');
  assert.is(psiLevel(0.3, { warn: 0.3, critical: 0.5 }), 'ok');
  assert.equal({ ...DEFAULT_PSI_THRESHOLDS }, { warn: 0.1, critical: 0.25 });
});

// ---------------------------------------------------------------- properties

/** Two histograms over the same bins, each with at least one value. */
const twoHistograms = fc
  .integer({ min: 1, max: 20 })
  .chain((k) =>
    fc.tuple(
      fc.array(fc.nat({ max: 1000 }), { minLength: k, maxLength: k }),
      fc.array(fc.nat({ max: 1000 }), { minLength: k, maxLength: k }),
    ),
  )
  .filter(([p, q]) => p.some((c) => c > 0) && q.some((c) => c > 0))
  .map(([p, q]) => [u32(p), u32(q)] as const);
const epsilonArb = fc.constantFrom(1e-4, 1e-6, 1e-2);

test('property: PSI ≥ 0 and KL ≥ 0 on smoothed shares', () => {
  fc.assert(
    fc.property(twoHistograms, epsilonArb, ([p, q], eps) => {
      const e = shares(p, eps);
      const a = shares(q, eps);
      // Each PSI term is ≥ 0 even in floating point: a - e and ln(a/e) share a sign.
      assert.ok(psi(e, a) >= 0);
      assert.ok(kl(e, a) >= -1e-12 && kl(a, e) >= -1e-12);
    }),
    { numRuns: 1000 },
  );
});

test('property: PSI(x, x) = 0 exactly', () => {
  fc.assert(
    fc.property(fc.array(fc.double({ noNaN: true, min: -1e9, max: 1e9 }), { minLength: 1, maxLength: 300 }), fc.integer({ min: 1, max: 30 }), (xs, bins) => {
      const values = f64(xs);
      const drift = featureDrift(baselineBins(values, bins), values);
      assert.is(drift.psi, 0);
      assert.is(drift.kl, 0);
    }),
    { numRuns: 300 },
  );
});

test('property: PSI = KL(p‖q) + KL(q‖p) for the same smoothed shares', () => {
  fc.assert(
    fc.property(twoHistograms, epsilonArb, ([p, q], eps) => {
      const e = shares(p, eps);
      const a = shares(q, eps);
      near(psi(e, a), kl(a, e) + kl(e, a));
      // PSI is symmetric in its arguments.
      near(psi(a, e), psi(e, a));
    }),
    { numRuns: 1000 },
  );
});

test('property: PSI and KL do not depend on event order', () => {
  fc.assert(
    fc.property(
      fc.array(fc.double({ noNaN: true, noDefaultInfinity: true }), { minLength: 1, maxLength: 200 }),
      fc.array(fc.double({ noNaN: true }), { minLength: 1, maxLength: 200 }),
      fc.integer({ min: 2, max: 20 }),
      (base, cur, bins) => {
        const baseline = baselineBins(f64(base), bins);
        const reversedBaseline = baselineBins(f64([...base].reverse()), bins);
        const sorted = f64(cur).sort();
        const a = featureDrift(baseline, f64(cur));
        const b = featureDrift(reversedBaseline, sorted);
        assert.is(b.psi, a.psi);
        assert.is(b.kl, a.kl);
      },
    ),
    { numRuns: 300 },
  );
});

test('property: featureDrift is the composition of histogram, shares, psi and kl', () => {
  fc.assert(
    fc.property(fc.array(fc.double({ noNaN: true, noDefaultInfinity: true }), { minLength: 1, maxLength: 100 }), fc.array(fc.double({ noNaN: true }), { minLength: 1, maxLength: 100 }), (base, cur) => {
      const edges = quantileEdges(f64(base));
      const e = shares(histogram(f64(base), edges));
      const a = shares(histogram(f64(cur), edges));
      const drift = featureDrift(baselineBins(f64(base)), f64(cur));
      assert.is(drift.psi, psi(e, a));
      assert.is(drift.kl, kl(e, a));
    }),
    { numRuns: 200 },
  );
});

test.run();
