import fc from 'fast-check';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { aggregate, holds, startRollout, stepRollout, type RolloutInput, type RolloutSpec, type RolloutState } from './engine';

const H = 3_600_000;
const T0 = Date.parse('2026-05-01T00:00:00Z');
const at = (hours: number) => new Date(T0 + hours * H).toISOString();

const spec: RolloutSpec = {
  id: 'promotion',
  stages: [
    {
      id: 'canary-1',
      gates: [
        { id: 'samples', description: 'at least 1,000 labelled samples per arm', metric: 'n', agg: 'last', op: '>=', threshold: 1000 },
        { id: 'p-value', description: 'mean p-value of the last 3 evaluations below 0.05', metric: 'p', agg: 'mean', window: { samples: 3 }, op: '<', threshold: 0.05, minSamples: 3 },
        { id: 'no-incident', description: 'no incident in 48 h', metric: 'incidents', agg: 'sum', window: { ms: 48 * H }, op: '==', threshold: 0 },
      ],
      breakers: [{ id: 'mae', description: 'relative MAE degradation above 5 %', metric: 'relMae', agg: 'last', op: '>', threshold: 0.05, action: 'rollback' }],
      minDurationMs: 2 * H,
      maxDurationMs: 72 * H,
      params: { traffic: 1 },
    },
    { id: 'canary-10', gates: [{ id: 'samples', description: 'n ≥ 1000', metric: 'n', agg: 'last', op: '>=', threshold: 1000 }], approval: true, params: { traffic: 10 } },
  ],
};

function run(inputs: RolloutInput[], state: RolloutState = startRollout(spec, at(0))) {
  const decisions = [];
  for (const i of inputs) {
    const r = stepRollout(spec, state, i);
    state = r.state;
    decisions.push(...r.decisions);
  }
  return { state, decisions };
}
const good = (h: number) => ({ type: 'sample' as const, at: at(h), values: { n: 1500, p: 0.01, incidents: 0, relMae: -0.1 } });
const ev = (h: number) => ({ type: 'evaluate' as const, at: at(h) });

const test = suite('gate engine');

test('gates must all pass: too few samples in the window → no exit', () => {
  const { state, decisions } = run([good(3), good(3.1), ev(3.2)]);
  assert.equal(decisions, []);
  assert.is(state.stageIndex, 0);
  const last = state.ledger[state.ledger.length - 1]!;
  assert.is(last.kind, 'evaluation');
  assert.equal(last.inputs!['p-value'], { value: 0.01, passed: false, samples: 2 });
  assert.is(last.inputs!.samples!.passed, true);
});

test('all gates pass but the minimum duration has not run: no exit; after it: advance', () => {
  const early = run([good(0.5), good(0.6), good(0.7), ev(1)]);
  assert.equal(early.decisions, []);
  const later = run([good(0.5), good(0.6), good(0.7), ev(2)]);
  assert.is(later.decisions.length, 1);
  assert.is(later.decisions[0]!.kind, 'enter');
  assert.is(later.state.stageIndex, 1);
  assert.is(later.state.samples.length, 0, 'a new stage starts with no samples');
  assert.ok(later.state.ledger.some((e) => e.kind === 'advance' && /canary-1 → canary-10/.test(e.reason)));
});

test('a windowed gate: an incident within 48 h blocks, an older one does not', () => {
  const incident = { type: 'sample' as const, at: at(1), values: { incidents: 1 } };
  assert.equal(run([incident, good(10), good(11), good(12), ev(12)]).decisions, []);
  assert.is(run([incident, good(50), good(51), good(52), ev(52)]).decisions[0]!.kind, 'enter');
});

test('a breaker wins over passing gates and rolls back; nothing happens after', () => {
  const bad = { type: 'sample' as const, at: at(3), values: { relMae: 0.07 } };
  const { state, decisions } = run([good(0.5), good(1), good(2), bad, ev(3), good(4), ev(5)]);
  assert.equal(decisions.map((d) => d.kind), ['rollback']);
  assert.is(state.status, 'rolled_back');
  assert.match((decisions[0] as { reason: string }).reason, /relMae last = 0.0700 > 0.05/);
});

test('past the maximum duration without passing: hold and ask a human; resume restarts the clock', () => {
  const weak = (h: number) => ({ type: 'sample' as const, at: at(h), values: { n: 1500, p: 0.2, incidents: 0, relMae: 0 } });
  const held = run([weak(10), weak(20), weak(30), ev(73)]);
  assert.equal(held.decisions.map((d) => d.kind), ['hold']);
  assert.is(held.state.status, 'held');
  assert.equal(stepRollout(spec, held.state, ev(74)).decisions, [], 'a held rollout is not evaluated');
  const resumed = stepRollout(spec, held.state, { type: 'resume', at: at(75), by: 'user:maria', reason: 'wait for the harvest' }).state;
  assert.is(resumed.status, 'running');
  assert.is(resumed.stageEnteredAt, at(75));
});

test('an approval stage waits for a named person; a rejection holds; breakers still apply while waiting', () => {
  const inCanary10 = run([good(0.5), good(1), good(2), ev(2)]).state;
  const waiting = run([{ type: 'sample', at: at(3), values: { n: 2000 } }, ev(3)], inCanary10);
  assert.equal(waiting.decisions.map((d) => d.kind), ['await_approval']);
  assert.is(waiting.state.status, 'awaiting_approval');
  const approved = stepRollout(spec, waiting.state, { type: 'approve', at: at(4), by: 'user:maria', justification: 'yields improved' });
  assert.equal(approved.decisions.map((d) => d.kind), ['complete']);
  assert.ok(approved.state.ledger.some((e) => e.kind === 'approval' && e.by === 'user:maria'));
  const rejected = stepRollout(spec, waiting.state, { type: 'reject', at: at(4), by: 'user:maria', justification: 'not convinced' });
  assert.equal(rejected.decisions.map((d) => d.kind), ['hold']);
  // An approval that nobody asked for changes nothing.
  assert.is(stepRollout(spec, inCanary10, { type: 'approve', at: at(4), by: 'u', justification: 'j' }).state, inCanary10);
});

test('the kill switch stops a rollout at once, in any live status, and is ledgered', () => {
  const { state, decisions } = run([good(1), { type: 'kill', at: at(1.5), by: 'user:ada', reason: 'incident' }, good(2), ev(3)]);
  assert.equal(decisions.map((d) => d.kind), ['killed']);
  assert.is(state.status, 'killed');
  assert.is(state.ledger[state.ledger.length - 1]!.by, 'user:ada');
});

test('aggregations over windows', () => {
  const samples = [1, 5, 3, 8].map((v, i) => ({ at: at(i), values: { m: v } }));
  const p = (agg: 'last' | 'mean' | 'min' | 'max' | 'sum' | 'count', window?: { samples?: number; ms?: number }) =>
    aggregate({ id: 'x', description: '', metric: 'm', agg, window, op: '>', threshold: 0 }, samples, at(3)).value;
  assert.equal([p('last'), p('mean'), p('min'), p('max'), p('sum'), p('count')], [8, 4.25, 1, 8, 17, 4]);
  assert.is(p('mean', { samples: 2 }), 5.5);
  assert.is(p('sum', { ms: 1.5 * H }), 11);
  assert.is(p('count', { ms: 0 }), 1);
  assert.is(aggregate({ id: 'x', description: '', metric: 'other', agg: 'mean', op: '>', threshold: 0 }, samples, at(3)).value, null);
});

test('property: a predicate with no samples never passes, whatever its comparison', () => {
  fc.assert(
    fc.property(fc.constantFrom('<', '<=', '>', '>=', '==' as const), fc.double({ noNaN: true }), (op, threshold) => {
      assert.is(holds({ id: 'x', description: '', metric: 'm', agg: 'last', op, threshold }, [], at(0)).passed, false);
    }),
  );
});

test('property: samples are bounded and the ledger never loses its newest entry', () => {
  let state = startRollout(spec, at(0));
  for (let i = 0; i < 1_200; i++) state = stepRollout(spec, state, { type: 'sample', at: at(i / 100), values: { n: i } }).state;
  assert.is(state.samples.length, 1_000);
  assert.is(state.samples[999]!.values.n, 1_199);
});

test.run();
