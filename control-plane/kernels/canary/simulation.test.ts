import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { EMPTY_ARM, mergeArms, summarizeArm, type ArmSummary } from './arms';
import { canaryGuardConfig, decideCanary, type CanaryDecision, type CanaryGuardConfig } from './guard';
import { mannWhitneyU } from './mann-whitney';
import { fillExponential, mulberry32 } from './sample';
import { INITIAL_SEQUENTIAL_STATE } from './sequential';
import { welchTest } from './welch';

/**
 * The issue's simulations: simulated canaries with exponential absolute
 * errors (sd = mean), a look every 500 labelled samples per arm up to 5,000,
 * the last look final. Each look goes through `decideCanary`, the guard's own
 * rules; the arms' summaries are merged batch by batch (Chan), so a look costs
 * O(batch), and Mann–Whitney is ranked only when a promotion is on the table
 * (it can only veto), which is what keeps 2,000 canaries within seconds.
 */

const N = 5000;
const STEP = 500;
const CANARIES = 2000;

interface Outcome {
  counts: Record<CanaryDecision, number>;
  /** Canaries that a one-sided Welch test at every look (p < alpha, n ≥ minimum) would have promoted. */
  naiveWelch: number;
}

function simulate(canaryMean: number, partial: Partial<CanaryGuardConfig>, seed: number, canaries = CANARIES): Outcome {
  const config = canaryGuardConfig(partial);
  const uniform = mulberry32(seed);
  const control = new Float64Array(N);
  const canary = new Float64Array(N);
  const counts: Record<CanaryDecision, number> = { PROMOTE: 0, ROLLBACK: 0, CONTINUE: 0, INCONCLUSIVE: 0 };
  let naiveWelch = 0;
  for (let s = 0; s < canaries; s++) {
    fillExponential(control, 1, uniform);
    fillExponential(canary, canaryMean, uniform);
    let k: ArmSummary = EMPTY_ARM;
    let c: ArmSummary = EMPTY_ARM;
    let state = INITIAL_SEQUENTIAL_STATE;
    let decision: CanaryDecision = 'CONTINUE';
    let welchPromoted = false;
    for (let n = STEP; n <= N; n += STEP) {
      k = mergeArms(k, summarizeArm(control.subarray(n - STEP, n)));
      c = mergeArms(c, summarizeArm(canary.subarray(n - STEP, n)));
      if (!welchPromoted && n >= config.minSamplesPerArm && decision !== 'PROMOTE' && decision !== 'ROLLBACK') {
        welchPromoted = welchTest(k, c, config.mode === 'non-inferiority' ? config.nonInferiorityMargin * k.mean : 0).pLess < config.alpha;
      }
      if (decision === 'PROMOTE' || decision === 'ROLLBACK') continue;
      const look = decideCanary(
        { control: k, canary: c, mannWhitney: (scale) => mannWhitneyU(control.subarray(0, n), canary.subarray(0, n), scale) },
        config,
        state,
        { final: n === N },
      );
      state = look.state;
      decision = look.decision;
    }
    counts[decision]++;
    if (welchPromoted) naiveWelch++;
  }
  return { counts, naiveWelch };
}

const rate = (x: number, of = CANARIES) => x / of;
const show = (x: number) => `${(100 * x).toFixed(2)}%`;

test(`null (no true difference), ${CANARIES} canaries, 10 looks: false promotion rate ≤ 5%`, () => {
  // The breaker is off so that every null canary runs to its last look: the strictest case for the sequential test.
  const strict = simulate(1, { maxRelativeDegradation: Infinity }, 20261201);
  const falsePromotion = rate(strict.counts.PROMOTE);
  const naive = rate(strict.naiveWelch);
  // With the breaker (5%, from the first sample) the same kind of canaries also get rolled back on noise.
  const guarded = simulate(1, {}, 20261202);
  console.log(
    `  null: false promotions ${show(falsePromotion)} (breaker off), ${show(rate(guarded.counts.PROMOTE))} (issue's breaker); ` +
      `Welch at every look would promote ${show(naive)}; the 5% breaker rolls back ${show(rate(guarded.counts.ROLLBACK))} of these equal canaries`,
  );
  assert.ok(falsePromotion <= 0.05, `false promotion rate ${show(falsePromotion)}`);
  assert.ok(rate(guarded.counts.PROMOTE) <= 0.05);
  // The simulation can tell: peeking with a fixed-sample test is visibly worse than α.
  assert.ok(naive > 0.05, `naive Welch peeking ${show(naive)}`);
});

test(`non-inferiority at the margin's boundary (canary 2% worse), ${CANARIES} canaries: false promotion rate ≤ 5%`, () => {
  const r = simulate(1.02, { mode: 'non-inferiority', maxRelativeDegradation: Infinity }, 20261203);
  console.log(`  non-inferiority boundary: false promotions ${show(rate(r.counts.PROMOTE))}`);
  assert.ok(rate(r.counts.PROMOTE) <= 0.05);
});

test(`power: a 10% MAE improvement (sd = mean), ${CANARIES} canaries, by 5,000 per arm: promoted ≥ 80%`, () => {
  const r = simulate(0.9, {}, 20261204);
  const power = rate(r.counts.PROMOTE);
  console.log(
    `  10% better: promoted ${show(power)}, rolled back by the breaker ${show(rate(r.counts.ROLLBACK))}, inconclusive ${show(rate(r.counts.INCONCLUSIVE))}`,
  );
  assert.ok(power >= 0.8, `power ${show(power)}`);
});

test('a 10% worse canary is never promoted and the breaker rolls most back', () => {
  const r = simulate(1.1, {}, 20261205, 500);
  console.log(`  10% worse (500 canaries): promoted ${show(rate(r.counts.PROMOTE, 500))}, rolled back ${show(rate(r.counts.ROLLBACK, 500))}`);
  assert.is(r.counts.PROMOTE, 0);
  assert.ok(rate(r.counts.ROLLBACK, 500) >= 0.8);
});

test.run();
