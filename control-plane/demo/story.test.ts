import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { DEMO_TENANTS, NOTHING_SEEN, SCRIPT, behaviourOf, dueActions, narrate, regimeOf, storyDay, type ModelView, type Observation, type TenantView } from './story';

const test = suite('demo: story script');
const [alder, birch, cedar] = DEMO_TENANTS as [typeof DEMO_TENANTS[0], typeof DEMO_TENANTS[0], typeof DEMO_TENANTS[0]];
const model = (over: Partial<ModelView>): ModelView => ({ id: 'm1', label: 'v1', state: 'CHAMPION', canaryTrafficPercent: null, parentId: null, revision: 3, ...over });
const view = (tenant: typeof alder, day: number, models: ModelView[], forensicLock = false): TenantView => ({ tenant, day, models, forensicLock });

test('three tenants, one plot each', () => {
  assert.equal(DEMO_TENANTS.map((t) => t.plot).sort(), ['canary-degrades', 'drift', 'production-rollback']);
  assert.is(new Set(DEMO_TENANTS.map((t) => t.id)).size, 3);
});

test('story days count from the seed', () => {
  assert.is(storyDay(Date.UTC(2026, 0, 2, 12), Date.UTC(2026, 0, 1)), 1.5);
});

test('only the drift tenant gets the heat wave, and only from its day on', () => {
  assert.is(regimeOf(alder, SCRIPT.heatwaveFromDay - 0.01), 'normal');
  assert.is(regimeOf(alder, SCRIPT.heatwaveFromDay), 'heatwave');
  assert.is(regimeOf(birch, 10), 'normal');
  assert.is(regimeOf(cedar, 10), 'normal');
});

test('birch-valley ships v2 at its day, once; nothing before', () => {
  const champion = model({});
  assert.equal(dueActions(view(birch, SCRIPT.candidateAtDay - 0.1, [champion]), new Set()), []);
  const due = dueActions(view(birch, SCRIPT.candidateAtDay, [champion]), new Set());
  assert.is(due.length, 1);
  assert.is(due[0]!.kind, 'registerCandidate');
  assert.equal(dueActions(view(birch, SCRIPT.candidateAtDay, [champion]), new Set([due[0]!.id])), [], 'done: not again');
  assert.equal(dueActions(view(birch, 3, [champion, model({ id: 'm2', label: 'v2', state: 'FAILED' })]), new Set()), [], 'v2 exists (even FAILED): not again');
  assert.equal(dueActions(view(birch, 3, [champion, model({ id: 'm2', label: 'v2', state: 'SHADOW' })]), new Set()), []);
  assert.equal(dueActions(view(birch, SCRIPT.endDay, [champion]), new Set()), [], 'the story is over');
  const resumed = dueActions(view(birch, 1, [champion, model({ id: 'm2', label: 'v2', state: 'TRAINING' })]), new Set());
  assert.is(resumed.length, 1, 'a stop in the middle of shipping it: walked on from where it is');
  assert.is((resumed[0] as { existingId?: string }).existingId, 'm2');
});

test('alder-farms: each retrained VALIDATED version goes to shadow; a hand-made one does not', () => {
  const retrained = model({ id: 'r1', label: 'retrain-x', state: 'VALIDATED', parentId: 'm1' });
  const due = dueActions(view(alder, 5, [model({}), retrained, model({ id: 'h', label: 'hand', state: 'VALIDATED' })]), new Set());
  assert.equal(due.map((a) => a.kind === 'deployShadow' && a.modelId), ['r1']);
  assert.equal(dueActions(view(alder, 5, [model({}), { ...retrained, state: 'SHADOW' }]), new Set()), []);
});

test('cedar-ridge: if nothing rolled v2 back by its day, the ADMIN does; not when locked or v2 no longer serves', () => {
  const v1 = model({ id: 'c1', label: 'v1', state: 'DEPRECATED' });
  const v2 = model({ id: 'c2', label: 'v2', state: 'CHAMPION' });
  assert.equal(dueActions(view(cedar, SCRIPT.manualRollbackAtDay - 0.01, [v1, v2]), new Set()), []);
  const due = dueActions(view(cedar, SCRIPT.manualRollbackAtDay, [v1, v2]), new Set());
  assert.is(due[0]?.kind, 'rollback');
  assert.match((due[0] as { reason: string }).reason, /over-forecasts/);
  assert.equal(dueActions(view(cedar, 2, [v1, v2], true), new Set()), [], 'locked');
  assert.equal(dueActions(view(cedar, 2, [{ ...v1, state: 'CHAMPION' }, { ...v2, state: 'ROLLED_BACK' }]), new Set()), []);
});

test('how versions forecast: the scripted faults', () => {
  assert.equal(behaviourOf(alder, { label: 'v1', state: 'CHAMPION', parentId: null }, 3).knowsHeat, false);
  assert.equal(behaviourOf(alder, { label: 'retrain-x', state: 'CANARY', parentId: 'm1' }, 5).knowsHeat, true);
  const shadow = behaviourOf(birch, { label: 'v2', state: 'SHADOW', parentId: null }, 1);
  const canary = behaviourOf(birch, { label: 'v2', state: 'CANARY', parentId: null }, 1);
  const champion = behaviourOf(birch, { label: 'v1', state: 'CHAMPION', parentId: null }, 1);
  assert.ok(shadow.noiseSd < champion.noiseSd && shadow.bias === 0, 'fine in shadow (no shadow breaker)');
  assert.ok(canary.bias > 0.5, 'degrades once live: the canary breaker must trip');
  assert.is(behaviourOf(cedar, { label: 'v2', state: 'CHAMPION', parentId: null }, SCRIPT.faultFromDay - 0.01).bias, 0);
  assert.ok(behaviourOf(cedar, { label: 'v2', state: 'CHAMPION', parentId: null }, SCRIPT.faultFromDay).bias >= 2);
  assert.is(behaviourOf(cedar, { label: 'v1', state: 'CHAMPION', parentId: null }, 5).bias, 0);
});

const observation = (over: Partial<Observation>): Observation => ({ tenantId: 'alder-farms', models: [], forensicLock: false, reports: [], sagas: [], promotions: {}, ...over });

test('narrate: one beat per new report, state change, saga step and promotion status; nothing twice', () => {
  const o = observation({
    models: [model({ id: 'm1', label: 'v1', state: 'CHAMPION' }), model({ id: 'm2', label: 'r', state: 'CANARY', canaryTrafficPercent: 50, parentId: 'm1' })],
    reports: [
      { day: '2026-12-01', score: 0.05, level: 'ok', breachStarted: false, driftScore: 0.05 },
      { day: '2026-12-02', score: 0.9, level: 'critical', breachStarted: true, driftScore: 0.4 },
    ],
    sagas: [{ sagaId: 's1', step: 'validated', trigger: 'breach', modelVersionId: 'm2' }],
    promotions: { m2: { stage: 'canary-50', status: 'awaiting_approval' } },
  });
  const first = narrate(NOTHING_SEEN, o);
  const kinds = first.beats.map((b) => b.beat);
  assert.equal(kinds, ['drift.report', 'drift.breach', 'retrain.validated', 'model.state', 'model.state', 'promotion.awaiting_approval']);
  assert.match(first.beats.find((b) => b.beat === 'promotion.awaiting_approval')!.msg, /approval/);
  assert.match(first.beats.find((b) => b.beat === 'model.state' && b.data?.to === 'CANARY')!.msg, /50% of traffic/);
  assert.equal(narrate(first.seen, o).beats, [], 'seen: silent');
  const later = narrate(first.seen, { ...o, models: [model({ id: 'm1', label: 'v1', state: 'DEPRECATED' }), model({ id: 'm2', label: 'r', state: 'CHAMPION' })], forensicLock: true });
  assert.equal(later.beats.map((b) => b.msg), ['alder-farms: v1 CHAMPION → DEPRECATED', 'alder-farms: r CANARY → CHAMPION', 'alder-farms: under a forensic lock (a committee unlock lifts it)']);
});

test('narrate: an older report than the last one seen is not told again', () => {
  const a = narrate(NOTHING_SEEN, observation({ reports: [{ day: '2026-12-05', score: 0.1, level: 'ok', breachStarted: false, driftScore: 0.1 }] }));
  assert.equal(narrate(a.seen, observation({ reports: [{ day: '2026-12-04', score: 0.1, level: 'ok', breachStarted: false, driftScore: 0.1 }] })).beats, []);
});

test.run();
