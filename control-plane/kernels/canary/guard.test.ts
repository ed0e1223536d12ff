import fc from 'fast-check';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { summarizeArm } from './arms';
import { CanaryConfigError, DEFAULT_CANARY_GUARD_CONFIG, canaryGuard, canaryGuardConfig, decideCanary } from './guard';
import { mannWhitneyU } from './mann-whitney';
import { fillExponential, mulberry32 } from './sample';
import { INITIAL_SEQUENTIAL_STATE, LookOrderError, sequentialLook } from './sequential';
import { welchTest } from './welch';

const f64 = (xs: readonly number[]) => Float64Array.from(xs);
const exp = (n: number, mean: number, seed: number) => fillExponential(new Float64Array(n), mean, mulberry32(seed));
/** n values around `mean` with sd ≈ 0.1·mean (uniform on mean·[0.83, 1.17]). */
const tight = (n: number, mean: number, seed: number) => {
  const u = mulberry32(seed);
  return Float64Array.from({ length: n }, () => mean * (0.83 + 0.34 * u()));
};

test('defaults are the issue\'s', () => {
  assert.equal({ ...DEFAULT_CANARY_GUARD_CONFIG }, {
    alpha: 0.05,
    minSamplesPerArm: 1000,
    mode: 'superiority',
    nonInferiorityMargin: 0.02,
    maxRelativeDegradation: 0.05,
    breakerMinSamplesPerArm: 1,
    mixingSd: 0.1,
  });
});

test('under the minimum sample: CONTINUE (never PROMOTE), no sequential look; INCONCLUSIVE when final', () => {
  // A huge improvement on 999 samples per arm still does not promote.
  const control = exp(999, 1, 1);
  const canary = exp(999, 0.5, 2);
  const r = canaryGuard(control, canary);
  assert.is(r.decision, 'CONTINUE');
  assert.is(r.rule, 'min-samples');
  assert.match(r.reason, /under the minimum sample: control 999, canary 999, need 1000 per arm/);
  assert.is(r.tests.sequential, null);
  assert.is(r.state, INITIAL_SEQUENTIAL_STATE);
  assert.ok(r.tests.welch.pLess < 1e-6, 'Welch is reported even so');
  assert.ok(r.tests.mannWhitney!.pLess < 1e-6);
  const last = canaryGuard(control, canary, {}, INITIAL_SEQUENTIAL_STATE, { final: true });
  assert.is(last.decision, 'INCONCLUSIVE');
  assert.match(last.reason, /maximum duration is over: hold and ask a human/);
  // One arm short is enough to hold.
  assert.is(canaryGuard(exp(5000, 1, 3), exp(999, 0.5, 4)).decision, 'CONTINUE');
});

test('a clear improvement with enough samples: PROMOTE by the sequential test, with the evidence', () => {
  const control = exp(3000, 1, 5);
  const canary = exp(3000, 0.8, 6);
  const r = canaryGuard(control, canary);
  assert.is(r.decision, 'PROMOTE');
  assert.is(r.rule, 'sequential');
  assert.equal(r.n, { control: 3000, canary: 3000 });
  const k = summarizeArm(control);
  const c = summarizeArm(canary);
  assert.equal(r.mae, { control: k.mean, canary: c.mean });
  assert.is(r.relativeDeltaMae, (c.mean - k.mean) / k.mean);
  // Every reported test is the kernel's own result, bit for bit.
  assert.equal(r.tests.welch, welchTest(k, c));
  assert.equal(r.tests.mannWhitney, mannWhitneyU(control, canary));
  assert.equal(r.tests.sequential, sequentialLook(k, c, { nullDifference: 0 }).result);
  assert.ok(r.tests.sequential!.pValue < 0.05);
  assert.equal(r.state, { looks: 1, pValue: r.tests.sequential!.pValue, n: { control: 3000, canary: 3000 } });
  assert.match(r.reason, /^canary better than control: always-valid p .* < alpha 0\.05 after 1 look,/);
  // The JSON of an evaluation round-trips (no typed arrays, no functions).
  assert.equal(JSON.parse(JSON.stringify(r)).decision, 'PROMOTE');
});

test('no difference: CONTINUE while looking, INCONCLUSIVE at the end of the maximum duration', () => {
  const control = exp(2000, 1, 7);
  const canary = exp(2000, 1, 8);
  const r = canaryGuard(control, canary, { maxRelativeDegradation: Infinity });
  assert.is(r.decision, 'CONTINUE');
  assert.is(r.rule, 'not-significant');
  assert.ok(r.tests.sequential!.pValue >= 0.05);
  const last = canaryGuard(control, canary, { maxRelativeDegradation: Infinity }, INITIAL_SEQUENTIAL_STATE, { final: true });
  assert.is(last.decision, 'INCONCLUSIVE');
  assert.is(last.rule, 'not-significant');
});

test('breaker: relative MAE degradation above 5% rolls back at once, without significance; exactly 5% does not', () => {
  const r = canaryGuard(f64([1, 1, 1]), f64([1.06, 1.06, 1.06]));
  assert.is(r.decision, 'ROLLBACK');
  assert.is(r.rule, 'breaker');
  assert.match(r.reason, /canary MAE 1\.06 is \+6% above control MAE 1 \(breaker at \+5%\)/);
  // 1.05/1 - 1 is 0.050000000000000044 in binary; use values whose ratio is exact: 21/20 = 1.05.
  assert.is(canaryGuard(f64([20]), f64([21])).decision, 'CONTINUE');
  assert.is(canaryGuard(f64([20]), f64([21.01])).decision, 'ROLLBACK');
  // breakerMinSamplesPerArm holds the breaker back on tiny samples.
  assert.is(canaryGuard(f64([1, 1, 1]), f64([2, 2, 2]), { breakerMinSamplesPerArm: 100 }).decision, 'CONTINUE');
  // A perfect control against an imperfect canary is an infinite degradation.
  const perfect = canaryGuard(f64([0, 0]), f64([0, 0.1]));
  assert.is(perfect.relativeDeltaMae, Infinity);
  assert.is(perfect.decision, 'ROLLBACK');
  // The breaker wins over a significant result too (it is checked first), and keeps the state.
  const state = { looks: 3, pValue: 0.2, n: { control: 10, canary: 10 } };
  const big = canaryGuard(exp(2000, 1, 9), exp(2000, 1.2, 10), {}, state);
  assert.is(big.decision, 'ROLLBACK');
  assert.is(big.state, state);
});

test('Mann–Whitney vetoes a promotion carried by the control\'s outliers', () => {
  // Control: 980 errors of 1 and 20 of 100 (MAE 2.98); canary: every error 1.1 (MAE 1.1).
  // The mean says the canary is far better (z ≈ -4); the typical request got 10% worse.
  const control = f64([...Array<number>(980).fill(1), ...Array<number>(20).fill(100)]);
  const canary = f64(Array<number>(1000).fill(1.1));
  const r = canaryGuard(control, canary);
  assert.ok(r.tests.sequential!.pValue < 0.05, `sequential p ${r.tests.sequential!.pValue}`);
  assert.ok(r.tests.mannWhitney!.pGreater < 0.05);
  assert.is(r.decision, 'CONTINUE');
  assert.is(r.rule, 'mann-whitney-veto');
  assert.match(r.reason, /heavy tails suspected/);
  assert.is(canaryGuard(control, canary, {}, INITIAL_SEQUENTIAL_STATE, { final: true }).decision, 'INCONCLUSIVE');
});

test('non-inferiority: an equal canary passes within a 2% margin, where superiority cannot', () => {
  const control = tight(3000, 1, 11);
  const canary = tight(3000, 1, 12);
  const superiority = canaryGuard(control, canary);
  assert.is(superiority.decision, 'CONTINUE');
  const ni = canaryGuard(control, canary, { mode: 'non-inferiority' });
  assert.is(ni.decision, 'PROMOTE');
  assert.is(ni.mode, 'non-inferiority');
  assert.match(ni.reason, /non-inferior to control \(margin \+2%\)/);
  const k = summarizeArm(control);
  assert.is(ni.tests.sequential!.nullDifference, 0.02 * k.mean);
  assert.is(ni.tests.welch.nullDifference, 0.02 * k.mean);
  assert.is(ni.tests.mannWhitney!.controlScale, 1.02);
  // 4% worse is outside the margin (and under the 5% breaker): not promoted.
  const worse = canaryGuard(control, tight(3000, 1.04, 13), { mode: 'non-inferiority' });
  assert.is(worse.decision, 'CONTINUE');
  assert.is(worse.rule, 'not-significant');
});

test('state threads through looks; a look on fewer samples is refused', () => {
  const control = exp(3000, 1, 14);
  const canary = exp(3000, 0.97, 15);
  const config = { maxRelativeDegradation: Infinity };
  let state = INITIAL_SEQUENTIAL_STATE;
  let runningMin = 1;
  for (const n of [500, 1000, 1500, 2000, 2500, 3000]) {
    const r = canaryGuard(control.subarray(0, n), canary.subarray(0, n), config, state);
    if (n < 1000) assert.is(r.state, state);
    else {
      runningMin = Math.min(runningMin, r.tests.sequential!.pValueThisLook);
      assert.is(r.state.pValue, runningMin);
      assert.is(r.state.looks, n / 500 - 1);
    }
    state = r.state;
  }
  assert.throws(() => canaryGuard(control.subarray(0, 2000), canary.subarray(0, 2000), config, state), (e: unknown) => e instanceof LookOrderError);
});

test('a significant earlier look does not promote a canary that is worse now', () => {
  // The state says an earlier look was significant (say a Mann–Whitney veto held it); now the canary is 3% worse.
  const state = { looks: 2, pValue: 0.001, n: { control: 1000, canary: 1000 } };
  const r = canaryGuard(exp(3000, 1, 18), exp(3000, 1.03, 19), { maxRelativeDegradation: Infinity }, state);
  assert.ok(r.tests.sequential!.difference > 0);
  assert.is(r.state.pValue, 0.001);
  assert.is(r.decision, 'CONTINUE');
  assert.is(r.rule, 'not-significant');
  assert.match(r.reason, /from an earlier look, but the canary is not better than control now/);
});

test('decideCanary asks a lazily supplied Mann–Whitney only when a promotion is on the table', () => {
  const config = canaryGuardConfig();
  let calls = 0;
  const lazy = (control: Float64Array, canary: Float64Array) => ({
    control: summarizeArm(control),
    canary: summarizeArm(canary),
    mannWhitney: (scale: number) => (calls++, mannWhitneyU(control, canary, scale)),
  });
  const held = decideCanary(lazy(exp(2000, 1, 16), exp(2000, 1.01, 17)), config);
  assert.is(held.decision, 'CONTINUE');
  assert.is(held.tests.mannWhitney, null);
  assert.is(calls, 0);
  const control = exp(3000, 1, 5);
  const canary = exp(3000, 0.8, 6);
  const promoted = decideCanary(lazy(control, canary), config);
  assert.is(calls, 1);
  assert.equal(promoted, canaryGuard(control, canary));
});

test('empty arms: CONTINUE with NaN figures; bad values and configurations are refused', () => {
  const r = canaryGuard(f64([]), f64([1]));
  assert.is(r.decision, 'CONTINUE');
  assert.ok(Number.isNaN(r.mae.control) && Number.isNaN(r.relativeDeltaMae));
  assert.is(r.tests.mannWhitney, null);
  assert.throws(() => canaryGuard(f64([1, -2]), f64([1])), /control absolute error at index 1 is -2/);
  assert.throws(() => canaryGuard(f64([1]), f64([Number.NaN])), /canary absolute error at index 0 is NaN/);
  const bad: Array<[object, RegExp]> = [
    [{ alpha: 0 }, /alpha/],
    [{ alpha: 1 }, /alpha/],
    [{ minSamplesPerArm: 1 }, /minSamplesPerArm/],
    [{ minSamplesPerArm: 10.5 }, /minSamplesPerArm/],
    [{ mode: 'equivalence' }, /mode/],
    [{ nonInferiorityMargin: -0.01 }, /nonInferiorityMargin/],
    [{ maxRelativeDegradation: 0 }, /maxRelativeDegradation/],
    [{ breakerMinSamplesPerArm: 0 }, /breakerMinSamplesPerArm/],
    [{ mixingSd: Infinity }, /mixingSd/],
  ];
  for (const [config, why] of bad) assert.throws(() => canaryGuardConfig(config), (e: unknown) => e instanceof CanaryConfigError && why.test((e as Error).message));
});

test('property: the decision and every p-value ignore the order of each arm; p-values are in [0, 1]', () => {
  const errors = fc.array(fc.integer({ min: 0, max: 40 }).map((x) => x / 8), { minLength: 2, maxLength: 60 });
  const config = { minSamplesPerArm: 2, maxRelativeDegradation: 0.5 };
  fc.assert(
    fc.property(errors, errors, fc.boolean(), (k, c, final) => {
      const r = canaryGuard(f64(k), f64(c), config, INITIAL_SEQUENTIAL_STATE, { final });
      const shuffled = canaryGuard(f64([...k].reverse()), f64([...c].sort((a, b) => b - a)), config, INITIAL_SEQUENTIAL_STATE, { final });
      assert.is(shuffled.decision, r.decision);
      assert.is(shuffled.rule, r.rule);
      const ps = (e: typeof r) => [e.tests.welch.pTwoSided, e.tests.welch.pLess, e.tests.mannWhitney!.pTwoSided, e.tests.mannWhitney!.pLess, e.tests.sequential?.pValue ?? 1];
      ps(r).forEach((p, i) => {
        if (Number.isNaN(p)) return assert.ok(Number.isNaN(ps(shuffled)[i]!));
        assert.ok(p >= 0 && p <= 1);
        assert.ok(Math.abs(p - ps(shuffled)[i]!) <= 1e-9);
      });
      if (final) assert.is.not(r.decision, 'CONTINUE');
    }),
    { numRuns: 500 },
  );
});

test.run();
