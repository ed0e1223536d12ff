import fc from 'fast-check';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { EmptyInputError } from '../binning';
import { summarizeArm, type ArmSummary } from './arms';
import { INITIAL_SEQUENTIAL_STATE, LookOrderError, sequentialLook } from './sequential';
import { normalCdf } from './special';

function near(actual: number, expected: number, abs = 1e-10, rel = 0): void {
  assert.ok(Math.abs(actual - expected) <= Math.max(abs, rel * Math.abs(expected)), `${actual} ≠ ${expected}`);
}

const arm = (n: number, mean: number, m2: number): ArmSummary => ({ n, mean, m2 });

// ---------------------------------------------------------------- reference tables

// Source: mpmath 1.3.0 (30 digits), the mixture integral itself by quadrature, not the closed form:
//   Λ = ∫_{-∞}^{Δ₀} exp(-(Δ̂-θ)²/(2v) + (Δ̂-Δ₀)²/(2v)) · 2·N(θ; Δ₀, τ²) dθ,
//   s²_p = (M2_k + M2_c)/(n_k + n_c - 2),  v = s²_p·(1/n_k + 1/n_c),  τ = mixingSd·s_p.
const LOOKS: Array<[control: ArmSummary, canary: ArmSummary, nullDifference: number, mixingSd: number, lambda: number, v: number, tau: number]> = [
  // s²_p = (999 + 809.19)/1998 = 0.905, v = 0.905·(2/1000) = 0.00181, τ = 0.1·√0.905, r = 0.01/0.002 = 5,
  // z = -0.1/√0.00181 = -2.3505, w = z·√(5/6) = -2.1457, Λ = 2·6^(-½)·e^(w²/2)·Φ(-w) = 8.03
  [arm(1000, 1.0, 999), arm(1000, 0.9, 809.19), 0, 0.1, 8.0302562649374355272, 0.00181, 0.095131487952202247039],
  [arm(1200, 2.0, 4000), arm(1500, 2.1, 5000), 0.04, 0.1, 0.21182208489430069009, 0.0050037064492216456635, 0.18264184349379244807],
  [arm(2000, 1.0, 1999), arm(2500, 0.97, 2400), 0, 0.05, 1.2094122188598340262, 0.00088019119608714984438, 0.049446693971250773774],
  // The canary 10% worse: Λ < 1, no evidence for the alternative.
  [arm(1000, 1.0, 999), arm(1000, 1.1, 999), 0, 0.1, 0.13517131009698444345, 0.002, 0.1],
];

test('sequentialLook: the mixture likelihood ratio against quadrature of its integral (mpmath)', () => {
  for (const [control, canary, nullDifference, mixingSd, lambda, v, tau] of LOOKS) {
    const { result } = sequentialLook(control, canary, { nullDifference, mixingSd });
    near(result.likelihoodRatio, lambda, 0, 1e-12);
    near(result.variance, v, 0, 1e-14);
    near(result.tau, tau, 0, 1e-14);
    near(result.pValueThisLook, Math.min(1, 1 / lambda), 0, 1e-12);
    near(result.difference, canary.mean - control.mean, 1e-15);
  }
  // The first row by hand through the closed form 2·(1+r)^(-½)·e^(w²/2)·Φ(-w):
  const z = -0.1 / Math.sqrt(0.00181);
  const w = z * Math.sqrt(5 / 6);
  near(2 * 6 ** -0.5 * Math.exp((w * w) / 2) * normalCdf(-w), 8.0302562649374355272, 0, 1e-12);
});

test('sequentialLook: the always-valid p-value is the running minimum of 1/Λ over looks', () => {
  const control = arm(1000, 1, 999);
  const first = sequentialLook(control, arm(1000, 0.9, 809.19), { nullDifference: 0 });
  assert.is(first.state.looks, 1);
  near(first.state.pValue, 1 / 8.0302562649374355272, 0, 1e-12);
  assert.equal(first.state.n, { control: 1000, canary: 1000 });
  // A second look with weaker evidence keeps the first look's p-value.
  const second = sequentialLook(arm(1500, 1, 1499), arm(1500, 1, 1499), { nullDifference: 0 }, first.state);
  assert.ok(second.result.pValueThisLook > first.result.pValue);
  assert.is(second.result.pValue, first.result.pValue);
  assert.is(second.state.looks, 2);
  // Looking on fewer samples than before is refused: samples are cumulative.
  assert.throws(() => sequentialLook(arm(900, 1, 899), arm(1500, 1, 1499), { nullDifference: 0 }, second.state), (e: unknown) => e instanceof LookOrderError);
  assert.throws(() => sequentialLook(arm(1, 1, 0), arm(5, 1, 1), { nullDifference: 0 }), (e: unknown) => e instanceof EmptyInputError);
  assert.throws(() => sequentialLook(control, control, { nullDifference: 0, mixingSd: 0 }), /mixingSd/);
  assert.throws(() => sequentialLook(control, control, { nullDifference: Number.NaN }), /nullDifference/);
});

test('sequentialLook: constant arms (v = 0) give Λ = ∞ on the promoting side and 0 on the other', () => {
  const better = sequentialLook(arm(10, 1, 0), arm(10, 0.5, 0), { nullDifference: 0 });
  assert.is(better.result.likelihoodRatio, Infinity);
  assert.is(better.result.pValue, 0);
  const worse = sequentialLook(arm(10, 1, 0), arm(10, 1.5, 0), { nullDifference: 0 });
  assert.is(worse.result.likelihoodRatio, 0);
  assert.is(worse.result.pValue, 1);
  const same = sequentialLook(arm(10, 1, 0), arm(10, 1, 0), { nullDifference: 0 });
  // z = 0: Λ = 2·(1+r)^(-½)·Φ(0) = (1+r)^(-½), r = 0.01/(2/10) = 0.05
  near(same.result.likelihoodRatio, 1 / Math.sqrt(1.05), 1e-15);
  assert.equal(INITIAL_SEQUENTIAL_STATE, { looks: 0, pValue: 1, n: { control: 0, canary: 0 } });
});

// ---------------------------------------------------------------- properties

const armArb = fc.record({
  n: fc.integer({ min: 2, max: 100_000 }),
  mean: fc.double({ min: 0, max: 100, noNaN: true }),
  sd: fc.double({ min: 1e-3, max: 100, noNaN: true }),
}).map(({ n, mean, sd }) => arm(n, mean, sd * sd * (n - 1)));

test('property: p in [0, 1]; Λ ≥ 0; the two one-sided ratios average to the two-sided normal mixture', () => {
  fc.assert(
    fc.property(armArb, armArb, fc.double({ min: 0.01, max: 1, noNaN: true }), (control, canary, mixingSd) => {
      const { result } = sequentialLook(control, canary, { nullDifference: 0, mixingSd });
      assert.ok(result.pValue >= 0 && result.pValue <= 1 && result.likelihoodRatio >= 0);
      // Swapping the arms flips z; ½(Λ(w) + Λ(-w)) = (1+r)^(-½)·e^(w²/2) (Johari et al.'s two-sided Λ).
      const swapped = sequentialLook(canary, control, { nullDifference: 0, mixingSd }).result;
      const r = (mixingSd * mixingSd) / (1 / control.n + 1 / canary.n);
      const w = result.z * Math.sqrt(r / (1 + r));
      const twoSided = Math.exp((w * w) / 2 - 0.5 * Math.log1p(r));
      if (Number.isFinite(twoSided) && twoSided < 1e300) near((result.likelihoodRatio + swapped.likelihoodRatio) / 2, twoSided, 0, 1e-9);
      // On the wrong side (Δ̂ ≥ Δ₀) a look alone never gives evidence: Λ ≤ (1+r)^(-½) < 1.
      if (result.z >= 0) assert.ok(result.likelihoodRatio <= (1 + r) ** -0.5 * (1 + 1e-12));
    }),
    { numRuns: 1000 },
  );
});

test('property: Λ does not depend on the errors\' units or order', () => {
  // Errors are 0 or at least 1e-6: with values near 1e-162 the variance underflows to
  // subnormals and scaling changes its rounding (a float corner, not a property failure).
  const error = fc.oneof(fc.constant(0), fc.double({ min: 1e-6, max: 50, noNaN: true }));
  const errors = fc.array(error, { minLength: 3, maxLength: 60 });
  fc.assert(
    fc.property(errors, errors, fc.constantFrom(2, 0.25, 1024), (k, c, scale) => {
      const base = sequentialLook(summarizeArm(Float64Array.from(k)), summarizeArm(Float64Array.from(c)), { nullDifference: 0 }).result;
      if (!Number.isFinite(base.z)) return;
      const scaled = sequentialLook(summarizeArm(Float64Array.from(k, (x) => x * scale)), summarizeArm(Float64Array.from(c, (x) => x * scale)), { nullDifference: 0 }).result;
      const reversed = sequentialLook(summarizeArm(Float64Array.from(k).reverse()), summarizeArm(Float64Array.from(c).reverse()), { nullDifference: 0 }).result;
      near(scaled.likelihoodRatio, base.likelihoodRatio, 1e-12, 1e-9);
      near(reversed.likelihoodRatio, base.likelihoodRatio, 1e-12, 1e-9);
    }),
    { numRuns: 500 },
  );
});

test.run();
