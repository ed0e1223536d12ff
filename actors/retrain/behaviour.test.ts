import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Effect } from '../actor';
import { retrainBehaviour, type RetrainState } from './behaviour';
import { DEFAULT_RETRAIN_POLICY } from './safeguards';

const b = retrainBehaviour();
const T0 = Date.UTC(2026, 5, 1);
const ctx = (ms = 0) => ({ id: 'acme', now: new Date(T0 + ms) });
const by = { kind: 'user' as const, name: 'maria', role: 'MANAGER' as const };
const facts = { stage: 'PILOT' as const, forensicLock: false, forensicLockReason: null, featureSignature: 'sig', blacklistedUntil: null, parentId: null };
const S1 = '11111111-1111-4111-8111-111111111111';
const S2 = '22222222-2222-4222-8222-222222222222';
const SNAP = '33333333-3333-4333-8333-333333333333';
const MV = '44444444-4444-4444-8444-444444444444';
const calls = (effects: readonly Effect[] | undefined) => (effects ?? []).flatMap((e) => (e.kind === 'call' ? [e.op] : []));
const run = (state: RetrainState, raw: unknown, ms = 0) => b.step(state, b.parse(raw), ctx(ms));

function startedSaga(): RetrainState {
  let s = run(b.initial('acme'), { type: 'request', sagaId: S1, trigger: 'manual', reason: 'r', by, facts }).state;
  s = run(s, { type: 'started', sagaId: S1, lease: { lockKey: 'lock:tenant:acme:retrain', token: 3, owner: 'o' } }).state;
  s = run(s, { type: 'snapshotted', sagaId: S1, snapshotId: SNAP, rowCount: 10, merkleRoot: 'ab'.repeat(32) }).state;
  return run(s, { type: 'registered', sagaId: S1, modelVersionId: MV }).state;
}

const test = suite('retrain saga behaviour (pure)');

test('an accepted request persists the saga, arms the timeout and asks the port to start (the reply)', () => {
  const out = run(b.initial('acme'), { type: 'request', sagaId: S1, trigger: 'manual', reason: 'r', by, facts });
  assert.is(out.state.saga?.step, 'starting');
  assert.is(out.state.safeguards.lastStartedAt, new Date(T0).toISOString());
  const timer = out.effects!.find((e) => e.kind === 'schedule');
  assert.ok(timer && timer.kind === 'schedule' && timer.at === new Date(T0 + DEFAULT_RETRAIN_POLICY.timeoutMs).toISOString());
  const start = out.effects!.find((e) => e.kind === 'call');
  assert.ok(start && start.kind === 'call' && start.op === 'start' && start.reply === true);
});

test('SHADOW_MODE: the saga trains but is marked never to deploy; the finish says so', () => {
  let s = run(b.initial('acme'), { type: 'request', sagaId: S1, trigger: 'breach', reason: 'r', by, facts: { ...facts, stage: 'SHADOW_MODE' } }).state;
  assert.is(s.saga?.deploy, false);
  s = run(s, { type: 'started', sagaId: S1, lease: { lockKey: 'k', token: 1, owner: 'o' } }).state;
  s = run(s, { type: 'snapshotted', sagaId: S1, snapshotId: SNAP, rowCount: 10, merkleRoot: 'ab'.repeat(32) }).state;
  s = run(s, { type: 'registered', sagaId: S1, modelVersionId: MV }).state;
  const out = run(s, { type: 'trained', sagaId: S1, artifactSha256: 'cd'.repeat(32), usage: { seconds: 1, gpuHours: 0, costUsd: 0 }, evaluation: { passed: true, reason: 'ok' } });
  const finish = out.effects!.find((e) => e.kind === 'call' && e.op === 'finish') as Extract<Effect, { kind: 'call' }>;
  assert.is((finish.args as { saga: { deploy: boolean } }).saga.deploy, false);
  assert.is((finish.args as { outcome: string }).outcome, 'VALIDATED');
  assert.is(run(b.initial('acme'), { type: 'request', sagaId: S1, trigger: 'manual', reason: 'r', by, facts }).state.saga?.deploy, true);
});

test('each report moves one step with the fence it was given; the seed comes from the snapshot root', () => {
  const s = startedSaga();
  assert.is(s.saga?.step, 'training');
  assert.is(s.saga?.modelVersionId, MV);
  const again = run(s, { type: 'registered', sagaId: S1, modelVersionId: MV });
  assert.is(again.state, s, 'a duplicate report changes nothing');
  const s2 = run(b.initial('acme'), { type: 'request', sagaId: S1, trigger: 'manual', reason: 'r', by, facts }).state;
  const st = run(s2, { type: 'started', sagaId: S1, lease: { lockKey: 'k', token: 7, owner: 'o' } });
  const snap = st.effects!.find((e) => e.kind === 'call' && e.op === 'snapshot') as Extract<Effect, { kind: 'call' }>;
  assert.equal((snap.args as { fence: unknown }).fence, { lockKey: 'k', token: 7 });
});

test('reports for another saga are ignored; a second request while running is refused as LOCKED', () => {
  const s = startedSaga();
  assert.is(run(s, { type: 'stepFailed', sagaId: S2, step: 'x', code: 'X', message: 'm' }).state, s);
  const out = run(s, { type: 'request', sagaId: S2, trigger: 'manual', reason: 'r', by, facts });
  assert.equal(calls(out.effects), ['refuse']);
  assert.is(out.state.saga?.sagaId, S1);
  assert.is(out.state.safeguards.lastRefusals.mutex?.code, 'LOCKED');
});

test('validated: the saga ends, history kept, breaker count reset, finish asked with VALIDATED', () => {
  const out = run(startedSaga(), { type: 'trained', sagaId: S1, artifactSha256: 'cd'.repeat(32), usage: { seconds: 5, gpuHours: 0, costUsd: 0.01 }, evaluation: { passed: true, reason: 'ok' } });
  assert.is(out.state.saga, null);
  assert.is(out.state.history[0]?.step, 'validated');
  const finish = out.effects!.find((e) => e.kind === 'call' && e.op === 'finish') as Extract<Effect, { kind: 'call' }>;
  assert.is((finish.args as { outcome: string }).outcome, 'VALIDATED');
  assert.ok(out.effects!.some((e) => e.kind === 'cancelTimer'));
});

test('a model that fails validation ends FAILED but is not an error for the breaker; a crashed step is', () => {
  const v = run(startedSaga(), { type: 'trained', sagaId: S1, artifactSha256: 'cd'.repeat(32), usage: { seconds: 5, gpuHours: 0, costUsd: 0 }, evaluation: { passed: false, reason: 'worse' } });
  assert.is(v.state.history[0]?.step, 'failed');
  assert.is(v.state.history[0]?.error?.code, 'VALIDATION_FAILED');
  assert.is(v.state.safeguards.consecutiveErrors, 0);
  const f = run(startedSaga(), { type: 'stepFailed', sagaId: S1, step: 'training', code: 'TRAINING_FAILED', message: 'boom' });
  assert.is(f.state.safeguards.consecutiveErrors, 1);
});

test('timeout and resume fail the running saga; the mutex refusal undoes the rate-limit mark', () => {
  const t = run(startedSaga(), { type: 'timeout', sagaId: S1 }, 86_400_000);
  assert.is(t.state.history[0]?.error?.code, 'TIMEOUT');
  const finish = t.effects!.find((e) => e.kind === 'call' && e.op === 'finish') as Extract<Effect, { kind: 'call' }>;
  assert.is((finish.args as { alerts: { timedOut: boolean } }).alerts.timedOut, true);
  const probe = run(startedSaga(), { type: 'resume' });
  assert.equal(calls(probe.effects), ['resume'], 'resume only asks the port whether the job still runs');
  assert.ok(probe.state.saga);
  const r = run(startedSaga(), { type: 'interrupted', sagaId: S1 });
  assert.is(r.state.history[0]?.error?.code, 'INTERRUPTED');
  assert.is(run(r.state, { type: 'resume' }).effects, undefined, 'nothing to resume');
  const req = run(b.initial('acme'), { type: 'request', sagaId: S1, trigger: 'manual', reason: 'r', by, facts }).state;
  const refused = run(req, { type: 'lockRefused', sagaId: S1, message: 'held' });
  assert.is(refused.state.saga, null);
  assert.is(refused.state.safeguards.lastStartedAt, null);
});

test('malformed commands are BadRequest naming the field', () => {
  assert.throws(() => b.parse({ type: 'request', sagaId: 'nope', trigger: 'manual', reason: 'r', by, facts }), /sagaId/);
  assert.throws(() => b.parse({ type: 'explode' }), /unknown message type/);
});

test.run();
