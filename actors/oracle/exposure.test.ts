import fc from 'fast-check';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ForbiddenError, GovernanceUnlockRequiredError, IllegalTransitionError } from '../errors';
import { admits, canaryCohort, EXPOSURE_STAGES, step, type ExposureStage, type ExposureState } from './exposure';

const admin = { name: 'root', role: 'ADMIN' };
const at = (stage: ExposureStage): ExposureState => ({ stage, previousStage: null, revision: 3 });
const set = (to: ExposureStage, unlockAccepted = false, by = admin) => ({ type: 'set' as const, to, by, reason: 'r', unlockAccepted });

test('an ADMIN moves forward one stage at a time; each move is audited and bumps the revision', () => {
  let state = at('SHADOW_SYNC');
  for (const to of EXPOSURE_STAGES.slice(1)) {
    const out = step(state, set(to, to === 'OPEN'));
    assert.is(out.state.stage, to);
    assert.is(out.state.previousStage, state.stage);
    assert.is(out.state.revision, state.revision + 1);
    assert.equal(out.effects.map((e) => e.type), ['audit']);
    state = out.state;
  }
});

test('property: every (from, to) pair is legal exactly when it is one step forward or any step back; OPEN needs the unlock', () => {
  fc.assert(
    fc.property(fc.constantFrom(...EXPOSURE_STAGES), fc.constantFrom(...EXPOSURE_STAGES), fc.boolean(), (from, to, unlock) => {
      const i = EXPOSURE_STAGES.indexOf(from);
      const j = EXPOSURE_STAGES.indexOf(to);
      const legal = j === i + 1 || j < i;
      let outcome: unknown;
      try {
        outcome = step(at(from), set(to, unlock)).state.stage;
      } catch (err) {
        outcome = err;
      }
      if (!legal) assert.ok(outcome instanceof IllegalTransitionError, `${from}→${to}`);
      else if (to === 'OPEN' && j > i && !unlock) assert.ok(outcome instanceof GovernanceUnlockRequiredError, `${from}→${to}`);
      else assert.is(outcome, to);
    }),
  );
});

test('only an ADMIN may move the stage', () => {
  for (const role of ['AGRONOMIST', 'MANAGER']) assert.throws(() => step(at('SHADOW_SYNC'), set('DARK_LAUNCH', false, { name: 'm', role })), (e: unknown) => e instanceof ForbiddenError);
});

test('a breaker trip steps back one stage with an alert (P1 for a state-verifier mismatch); at SHADOW_SYNC it does nothing', () => {
  const out = step(at('CANARY_10'), { type: 'breaker', breaker: 'latency-p95', detail: 'p95 180 ms for 3 min' });
  assert.is(out.state.stage, 'CANARY_1');
  const alert = out.effects.find((e) => e.type === 'alert');
  assert.ok(alert && alert.type === 'alert' && alert.severity === 'P2');
  const p1 = step(at('OPEN'), { type: 'breaker', breaker: 'state-verifier', detail: 'split view' });
  assert.is(p1.state.stage, 'CANARY_10');
  assert.ok(p1.effects.some((e) => e.type === 'alert' && e.severity === 'P1'));
  const none = step(at('SHADOW_SYNC'), { type: 'breaker', breaker: 'auth-failures', detail: 'x' });
  assert.is(none.state.stage, 'SHADOW_SYNC');
  assert.equal(none.effects, []);
});

test('admission per stage: nobody in SHADOW_SYNC, internal only in DARK_LAUNCH, one partner in CANARY_1, a tenth in CANARY_10, all in OPEN', () => {
  const ids = Array.from({ length: 30 }, (_, i) => `partner-${i}`);
  const c1 = canaryCohort('CANARY_1', ids);
  const c10 = canaryCohort('CANARY_10', ids);
  assert.is(c1.size, 1);
  assert.is(c10.size, 3);
  for (const id of c1) assert.ok(c10.has(id), 'growing a wave keeps its members');
  const internal = { id: 'auditor', internal: true };
  const ext = (id: string) => ({ id, internal: false });
  assert.is(admits('SHADOW_SYNC', internal, c1), false);
  assert.is(admits('DARK_LAUNCH', internal, c1), true);
  assert.is(admits('DARK_LAUNCH', ext(ids[0]!), c1), false);
  assert.is(ids.filter((id) => admits('CANARY_1', ext(id), c1)).length, 1);
  assert.is(ids.filter((id) => admits('CANARY_10', ext(id), c10)).length, 3);
  assert.is(ids.filter((id) => admits('OPEN', ext(id), new Set())).length, 30);
});

test.run();
