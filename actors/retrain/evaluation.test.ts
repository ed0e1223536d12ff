import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { evaluateBacktest, timeSplit, type BacktestRow } from './evaluation';

const test = suite('backtest evaluation');
const row = (i: number, actual: number, prediction: number | null, segment = 'n'): BacktestRow => ({
  occurredAt: new Date(Date.UTC(2026, 0, 1, i)).toISOString(),
  segment,
  actual,
  prediction,
});

test('time split: the newest 20% is the backtest, whatever the input order', () => {
  const rows = [5, 1, 9, 3, 7, 0, 2, 8, 6, 4].map((i) => row(i, i, null));
  const { train, test: t } = timeSplit(rows);
  assert.equal(t.map((r) => r.actual), [8, 9]);
  assert.equal(train.map((r) => r.actual), [0, 1, 2, 3, 4, 5, 6, 7]);
});

test('better than the incumbent overall and per segment → passes; MAE written out', () => {
  // Incumbent off by 2 everywhere; candidate off by 1 → MAE 1 vs 2.
  const rows = Array.from({ length: 12 }, (_, i) => row(i, 10, 12, i % 2 ? 'north' : 'south'));
  const e = evaluateBacktest(rows, rows.map(() => 11), 0);
  assert.ok(e.passed, e.reason);
  assert.is(e.mae, 1);
  assert.is(e.baselineMae, 2);
  assert.is(e.baseline, 'incumbent');
  assert.equal(e.segments.map((s) => [s.segment, s.n, s.mae]), [['north', 6, 1], ['south', 6, 1]]);
});

test('worse overall, or one segment degrading > 10%, or too few rows → fails naming why', () => {
  const rows = Array.from({ length: 12 }, (_, i) => row(i, 10, 11, i % 2 ? 'north' : 'south'));
  assert.match(evaluateBacktest(rows, rows.map(() => 12), 0).reason, /worse than the incumbent/);
  // north: candidate perfect; south: candidate off by 1.2 vs incumbent 1 (20% worse); overall 0.6 < 1.
  const mixed = evaluateBacktest(rows, rows.map((r) => (r.segment === 'north' ? 10 : 11.2)), 0);
  assert.is(mixed.passed, false);
  assert.match(mixed.reason, /south/);
  assert.match(evaluateBacktest(rows.slice(0, 4), [10, 10, 10, 10], 0).reason, /only 4 labelled/);
});

test('without incumbent predictions the baseline is the training mean', () => {
  const rows = Array.from({ length: 10 }, (_, i) => row(i, i, null));
  const e = evaluateBacktest(rows, rows.map((r) => r.actual!), 4.5);
  assert.is(e.baseline, 'train-mean');
  assert.is(e.baselineMae, 2.5);
  assert.ok(e.passed);
});

test.run();
