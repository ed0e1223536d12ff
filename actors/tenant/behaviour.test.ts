import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Effect } from '../actor';
import { BadRequestError } from '../errors';
import { aggregateDay } from './drift-window';
import { CLOSE_RETRY_MS, tenantBehaviour, type TenantState } from './behaviour';

const test = suite('tenant behaviour: the drift window as messages');
const ctx = (iso: string) => ({ id: 'farm', now: new Date(iso) });
const ev = (ts: string, x: number) => ({ ts, modelVersionId: 'm1', features: { x }, prediction: x });
const step = (state: TenantState, raw: unknown, now = '2026-03-02T12:00:00Z') => tenantBehaviour.step(state, tenantBehaviour.parse(raw), ctx(now));
const schedules = (effects: readonly Effect[] | undefined) => (effects ?? []).filter((e) => e.kind === 'schedule') as Array<Extract<Effect, { kind: 'schedule' }>>;

test('state persisted before drift existed reads as a fresh window', () => {
  const s = tenantBehaviour.step({} as TenantState, tenantBehaviour.parse({ type: 'driftStatus' }), ctx('2026-03-02T00:00:00Z'));
  assert.is((s.reply as { lastClosedDay: null }).lastClosedDay, null);
});

test('the first observation sets the close timer for its day (midnight + grace); later ones keep it', () => {
  const a = step(tenantBehaviour.initial('farm'), { type: 'observe', events: [ev('2026-03-02T10:00:00Z', 1)] });
  const [t] = schedules(a.effects);
  assert.equal(t, { kind: 'schedule', timerId: 'drift-close', at: '2026-03-03T00:15:00.000Z', message: { type: 'closeDay', day: '2026-03-02' } });
  const b = step(a.state, { type: 'observe', events: [ev('2026-03-02T11:00:00Z', 2)] });
  assert.is(schedules(b.effects).length, 0);
  // A backfilled earlier day moves the close to that day.
  const c = step(b.state, { type: 'observe', events: [ev('2026-03-01T11:00:00Z', 2)] });
  assert.is(schedules(c.effects)[0]!.at, '2026-03-02T00:15:00.000Z');
});

test('closeDay asks the drift port to recompute, with a retry; a stale answer is ignored', () => {
  const a = step(tenantBehaviour.initial('farm'), { type: 'observe', events: [ev('2026-03-02T10:00:00Z', 1)] });
  const b = step(a.state, { type: 'closeDay', day: '2026-03-02' }, '2026-03-03T00:15:00Z');
  const call = b.effects!.find((e) => e.kind === 'call') as Extract<Effect, { kind: 'call' }>;
  assert.is(call.op, 'recomputeDay');
  assert.equal((call.args as { baseline: unknown }).baseline, { bins: 10, fromDay: '2026-02-24', toDay: '2026-03-02', minEvents: 100 });
  assert.is(schedules(b.effects)[0]!.at, new Date(Date.parse('2026-03-03T00:15:00Z') + CLOSE_RETRY_MS).toISOString());
  const stale = step(b.state, { type: 'dayRecomputed', day: '2026-03-01', agg: aggregateDay([], null), baseline: null });
  assert.is(stale.state, b.state);
  const closed = step(b.state, { type: 'dayRecomputed', day: '2026-03-02', agg: aggregateDay([ev('2026-03-02T10:00:00Z', 1)], null), baseline: null });
  assert.is(closed.state.drift.lastClosedDay, '2026-03-02');
  assert.is(closed.state.pendingReports.length, 1);
  assert.ok(closed.effects!.some((e) => e.kind === 'call' && e.op === 'storeReport'));
  assert.equal(schedules(closed.effects).map((t) => t.timerId), ['drift-report-retry', 'drift-close']);
  // The same answer again (a retry raced) changes nothing.
  assert.is(step(closed.state, { type: 'dayRecomputed', day: '2026-03-02', agg: aggregateDay([], null), baseline: null }).state, closed.state);
  const stored = step(closed.state, { type: 'reportStored', day: '2026-03-02' });
  assert.is(stored.state.pendingReports.length, 0);
  assert.equal(stored.effects, [{ kind: 'cancelTimer', timerId: 'drift-report-retry' }]);
  // A late closeDay timer for a closed day does nothing.
  assert.is(step(stored.state, { type: 'closeDay', day: '2026-03-02' }).state, stored.state);
});

test('reports not yet stored are retried', () => {
  const a = step(tenantBehaviour.initial('farm'), { type: 'observe', events: [ev('2026-03-02T10:00:00Z', 1)] });
  const b = step(a.state, { type: 'closeDay', day: '2026-03-02' });
  const c = step(b.state, { type: 'dayRecomputed', day: '2026-03-02', agg: aggregateDay([], null), baseline: null });
  const retry = step(c.state, { type: 'retryReports' });
  assert.is(retry.effects!.filter((e) => e.kind === 'call' && e.op === 'storeReport').length, 1);
});

test('a bad threshold pair is a typed refusal, not a crash, and changes nothing', () => {
  const by = { kind: 'user', name: 'ada', role: 'ADMIN' };
  const s = step(tenantBehaviour.initial('farm'), { type: 'setDriftConfig', by, config: { psiWarn: 0.5 } });
  assert.ok(s.refusal instanceof BadRequestError);
  assert.match(s.refusal!.message, /psiWarn \(0.5\) must be below psiCritical \(0.25\)/);
  assert.throws(() => tenantBehaviour.parse({ type: 'setDriftConfig', by, config: {} }), /at least one/);
  assert.throws(() => tenantBehaviour.parse({ type: 'observe', events: [{ ts: 'x' }] }), /events: \[0\]\.modelVersionId: expected a string/);
  const ok = { ts: 't', modelVersionId: 'm', features: { a: 1 }, prediction: 1 };
  assert.throws(() => tenantBehaviour.parse({ type: 'observe', events: [ok, { ...ok, features: { a: '1' } }] }), /events: \[1\]\.features\.a: expected a number/);
  assert.throws(() => tenantBehaviour.parse({ type: 'observe', events: [{ ...ok, extra: 1 }] }), /unknown field\(s\) extra/);
  assert.throws(() => tenantBehaviour.parse({ type: 'observe', events: [{ ...ok, actual: 'x' }] }), /actual: expected a number/);
  assert.throws(() => tenantBehaviour.parse({ type: 'observe', events: 'all' }), /events: expected an array/);
  assert.throws(() => tenantBehaviour.parse({ type: 'observe', events: Array.from({ length: 5001 }, () => ok) }), /at most 5000/);
  assert.is((tenantBehaviour.parse({ type: 'observe', events: [ok] }) as { events: unknown[] }).events.length, 1);
});

test.run();
