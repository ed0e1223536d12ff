import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Effect } from '../actor';
import { advancePromotion, DEFAULT_PROMOTION_CONFIG, measureRequest, promotionConfigFor, promotionSpec, startPromotion } from './promotion';

const test = suite('promotion on the gate engine');
const T0 = Date.parse('2026-05-01T00:00:00Z');
const at = (h: number) => new Date(T0 + h * 3_600_000).toISOString();
const calls = (effects: Effect[]) => effects.filter((e) => e.kind === 'call' && e.op === 'apply').map((e) => (e as { args: { action: string } }).args.action);

test('PILOT (and SHADOW_MODE) end with a named approval; CONTROLLED_AUTONOMY does not', () => {
  for (const stage of ['SHADOW_MODE', 'PILOT'] as const) assert.is(promotionSpec(stage, DEFAULT_PROMOTION_CONFIG).stages.at(-1)!.approval, true);
  assert.is(promotionSpec('CONTROLLED_AUTONOMY', DEFAULT_PROMOTION_CONFIG).stages.at(-1)!.approval, false);
  assert.equal(promotionSpec('PILOT', { ...DEFAULT_PROMOTION_CONFIG, waves: [5, 25] }).stages.map((s) => s.id), ['shadow', 'canary-5', 'canary-25', 'champion']);
});

test('decisions become port calls: canary, traffic waves, approval wait, promotion', () => {
  let p = startPromotion('farm', 'PILOT', new Date(at(0)));
  const shadowSample = (h: number) => ({ type: 'sample' as const, at: at(h), values: { nControl: 500, nCandidate: 500, predictionPsi: 0.02, relativeDeltaMae: -0.1 } });
  let r = advancePromotion(p, 'm1', [shadowSample(1), shadowSample(2), shadowSample(3), { type: 'evaluate', at: at(3) }]);
  assert.equal(calls(r.effects), ['canary']);
  assert.is((r.effects.find((e) => e.kind === 'call' && e.op === 'apply') as { args: { percent: number } }).args.percent, 1);
  p = r.promotion;
  assert.is(measureRequest(p, 'm1', new Date(at(4))).stage, 'canary-1');
  const promote = (h: number) => ({ type: 'sample' as const, at: at(h), values: { nControl: 1200, nCandidate: 1200, guardPromote: 1, guardRollback: 0 } });
  r = advancePromotion(p, 'm1', [promote(5), { type: 'evaluate', at: at(5) }]);
  assert.equal(calls(r.effects), ['traffic']);
  r = advancePromotion(r.promotion, 'm1', [promote(7), { type: 'evaluate', at: at(7) }]);
  assert.equal(calls(r.effects), ['traffic']);
  r = advancePromotion(r.promotion, 'm1', [promote(9), { type: 'evaluate', at: at(9) }]);
  // Entering the approval stage is evaluated at once: the wait is announced.
  assert.equal(calls(r.effects), ['await', 'awaitApproval']);
  assert.is(r.promotion.rollout.status, 'awaiting_approval');
  r = advancePromotion(r.promotion, 'm1', [{ type: 'approve', at: at(10), by: 'user:maria', justification: 'ok' }]);
  assert.equal(calls(r.effects), ['promote']);
  assert.ok(r.effects.some((e) => e.kind === 'cancelTimer'), 'a finished promotion stops measuring');
  // Every ledger entry reaches the audit port exactly once across steps.
  assert.ok(r.effects.some((e) => e.kind === 'call' && e.op === 'ledger' && (e.args as { entries: Array<{ kind: string }> }).entries.some((x) => x.kind === 'approval')));
});

test('a tripped breaker fails the version; a wave resets the guard state', () => {
  let p = startPromotion('farm', 'CONTROLLED_AUTONOMY', new Date(at(0)));
  p = { ...p, rollout: { ...p.rollout, stageIndex: 1 }, guardState: { looks: 3, pValue: 0.2, n: { control: 1, canary: 1 } } };
  const r = advancePromotion(p, 'm1', [{ type: 'sample', at: at(1), values: { guardRollback: 1, guardPromote: 0 } }, { type: 'evaluate', at: at(1) }]);
  assert.equal(calls(r.effects), ['fail']);
  assert.is(r.promotion.rollout.status, 'rolled_back');
  const next = advancePromotion(p, 'm1', [{ type: 'sample', at: at(2), values: { guardPromote: 1, guardRollback: 0, relativeDeltaMae: -0.1 } }, { type: 'evaluate', at: at(2) }]);
  assert.is(next.promotion.guardState, null);
});

test('measureRequest says when a wave is past its maximum (final look)', () => {
  const p = startPromotion('farm', 'PILOT', new Date(at(0)));
  const inWave = { ...p, rollout: { ...p.rollout, stageIndex: 1 } };
  assert.is(measureRequest(inWave, 'm', new Date(at(24))).final, false);
  assert.is(measureRequest(inWave, 'm', new Date(at(24 * 8))).final, true);
});

test('CONTROLLED_AUTONOMY: the risk matrix caps waves, bounds the error and rate-limits automatic promotions', () => {
  const config = promotionConfigFor('CONTROLLED_AUTONOMY', { waves: [2, 20, 60] }, { maxTrafficPercent: 25, maxRelativeMaeDelta: -0.02, minDaysBetweenPromotions: 7, minSamplesPerArm: 500 });
  assert.equal(config.waves, [2, 20]);
  assert.is(config.minSamplesPerArm, 1_000, 'never fewer than 1,000');
  const spec = promotionSpec('CONTROLLED_AUTONOMY', config);
  assert.ok(spec.stages[1]!.gates.some((g) => g.id === 'risk-matrix-error' && g.threshold === -0.02));
  let p = startPromotion('t', 'CONTROLLED_AUTONOMY', new Date(at(0)), config);
  p = { ...p, rollout: { ...p.rollout, stageIndex: 3 } }; // champion
  const rate = (days: number, budgetLeftUsd: number) =>
    advancePromotion(p, 'm', [{ type: 'sample', at: at(1), values: { daysSinceLastPromotion: days, budgetLeftUsd } }, { type: 'evaluate', at: at(1) }]);
  assert.equal(calls(rate(2, 100).effects), [], 'promoted 2 days ago: wait');
  assert.equal(calls(rate(8, -1).effects), [], 'over budget: wait');
  assert.equal(calls(rate(8, 100).effects), ['promote']);
  assert.is(promotionConfigFor('PILOT', { shadowCycles: 5 }).shadowCycles, 5);
  assert.equal(promotionSpec('PILOT', promotionConfigFor('PILOT', { shadowCycles: 5 })).stages[0]!.gates[0]!.threshold, 5);
  // PILOT keeps the default waves whatever the matrix says.
  assert.equal(promotionConfigFor('PILOT', {}, { maxTrafficPercent: 5 }).waves, [1, 10, 50]);
});

test.run();
