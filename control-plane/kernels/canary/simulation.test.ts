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

type Counts = Record<CanaryDecision, number>;

interface Outcome {
  /** Final decisions per guard configuration, in the order given. */
  counts: Counts[];
  /** Canaries that a one-sided Welch test at every look (p < alpha, n ≥ minimum) would have promoted. */
  naiveWelch: number;
}

/**
 * `canaries` simulated canaries, each run through every configuration in
 * `configs` on the same draws (so comparing configurations costs no extra
 * sampling, which is most of the time).
 */
function simulate(canaryMean: number, configs: ReadonlyArray<Partial<CanaryGuardConfig>>, seed: number, canaries: number): Outcome {
  const full = configs.map((c) => canaryGuardConfig(c));
  const uniform = mulberry32(seed);
  const control = new Float64Array(N);
  const canary = new Float64Array(N);
  const counts: Counts[] = full.map(() => ({ PROMOTE: 0, ROLLBACK: 0, CONTINUE: 0, INCONCLUSIVE: 0 }));
  const first = full[0]!;
  let naiveWelch = 0;
  for (let s = 0; s < canaries; s++) {
    fillExponential(control, 1, uniform);
    fillExponential(canary, canaryMean, uniform);
    let k: ArmSummary = EMPTY_ARM;
    let c: ArmSummary = EMPTY_ARM;
    const states = full.map(() => INITIAL_SEQUENTIAL_STATE);
    const decisions: CanaryDecision[] = full.map(() => 'CONTINUE');
    let welchPromoted = false;
    for (let n = STEP; n <= N; n += STEP) {
      k = mergeArms(k, summarizeArm(control.subarray(n - STEP, n)));
      c = mergeArms(c, summarizeArm(canary.subarray(n - STEP, n)));
      if (!welchPromoted && n >= first.minSamplesPerArm) {
        welchPromoted = welchTest(k, c, first.mode === 'non-inferiority' ? first.nonInferiorityMargin * k.mean : 0).pLess < first.alpha;
      }
      const mannWhitney = (scale: number) => mannWhitneyU(control.subarray(0, n), canary.subarray(0, n), scale);
      full.forEach((config, i) => {
        if (decisions[i] === 'PROMOTE' || decisions[i] === 'ROLLBACK') return;
        const look = decideCanary({ control: k, canary: c, mannWhitney }, config, states[i], { final: n === N });
        states[i] = look.state;
        decisions[i] = look.decision;
      });
    }
    decisions.forEach((d, i) => counts[i]![d]++);
    if (welchPromoted) naiveWelch++;
  }
  return { counts, naiveWelch };
}

const show = (count: number, of: number) => `${((100 * count) / of).toFixed(2)}%`;

test(`null (no true difference), ${CANARIES} canaries, 9 looks from 1,000 to 5,000 per arm: false promotion rate ≤ 5%`, () => {
  // Breaker off, so that every null canary runs to its last look (the strictest case for the sequential test),
  // and the issue's defaults (breaker at 5% from the first sample), on the same draws.
  const { counts, naiveWelch } = simulate(1, [{ maxRelativeDegradation: Infinity }, {}], 20261201, CANARIES);
  const [strict, issue] = counts as [Counts, Counts];
  console.log(
    `  null: false promotions ${show(strict.PROMOTE, CANARIES)} (breaker off), ${show(issue.PROMOTE, CANARIES)} (issue's defaults); ` +
      `Welch at every look would promote ${show(naiveWelch, CANARIES)}; the 5% breaker rolls back ${show(issue.ROLLBACK, CANARIES)} of these equal canaries`,
  );
  assert.ok(strict.PROMOTE / CANARIES <= 0.05, `false promotion rate ${show(strict.PROMOTE, CANARIES)}`);
  assert.ok(issue.PROMOTE / CANARIES <= 0.05);
  // The simulation can tell: peeking with a fixed-sample test is visibly worse than α.
  assert.ok(naiveWelch / CANARIES > 0.05, `naive Welch peeking ${show(naiveWelch, CANARIES)}`);
});

test('non-inferiority at the margin\'s boundary (canary 2% worse), 1,000 canaries: false promotion rate ≤ 5%', () => {
  const [r] = simulate(1.02, [{ mode: 'non-inferiority', maxRelativeDegradation: Infinity }], 20261203, 1000).counts as [Counts];
  console.log(`  non-inferiority boundary: false promotions ${show(r.PROMOTE, 1000)}`);
  assert.ok(r.PROMOTE / 1000 <= 0.05);
});

test('power: a 10% MAE improvement (sd = mean), 1,000 canaries, by 5,000 per arm: promoted ≥ 80%', () => {
  const [r] = simulate(0.9, [{}], 20261204, 1000).counts as [Counts];
  console.log(`  10% better: promoted ${show(r.PROMOTE, 1000)}, rolled back by the breaker ${show(r.ROLLBACK, 1000)}, inconclusive ${show(r.INCONCLUSIVE, 1000)}`);
  assert.ok(r.PROMOTE / 1000 >= 0.8, `power ${show(r.PROMOTE, 1000)}`);
});

test('a 10% worse canary is never promoted and the breaker rolls most back', () => {
  const [r] = simulate(1.1, [{}], 20261205, 500).counts as [Counts];
  console.log(`  10% worse (500 canaries): promoted ${show(r.PROMOTE, 500)}, rolled back ${show(r.ROLLBACK, 500)}`);
  assert.is(r.PROMOTE, 0);
  assert.ok(r.ROLLBACK / 500 >= 0.8);
});

test.run();
