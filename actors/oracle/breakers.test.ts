import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { histogramQuantile, latencyBucket, mergeFigures, TrafficWindow } from '../../control-plane/oracle/traffic';
import { evaluateBreakers, type MinuteStats } from './breakers';

const m = (minute: number, p95Ms: number | null, requests = 200, authRefusals = 0): MinuteStats => ({ minute, p95Ms, requests, authRefusals });

test('latency: p95 > 150 ms in each of 3 consecutive complete minutes trips; 2 minutes, a gap, or 150 exactly do not', () => {
  assert.is(evaluateBreakers([m(1, 151), m(2, 200), m(3, 180)])?.breaker, 'latency-p95');
  assert.is(evaluateBreakers([m(2, 200), m(3, 180)]), null);
  assert.is(evaluateBreakers([m(1, 151), m(3, 200), m(4, 180)]), null);
  assert.is(evaluateBreakers([m(1, 150), m(2, 200), m(3, 180)]), null);
  assert.is(evaluateBreakers([m(1, 200), m(2, null), m(3, 180)]), null);
});

test('auth refusals: > 5% of the last minute trips (with enough traffic); 5% exactly or thin traffic does not', () => {
  assert.is(evaluateBreakers([m(1, 10, 200, 11)])?.breaker, 'auth-refusals');
  assert.is(evaluateBreakers([m(1, 10, 200, 10)]), null);
  assert.is(evaluateBreakers([m(1, 10, 50, 40)]), null);
});

test('the traffic window measures per-minute p95 and auth refusals, leaving out not-exposed 403s and the current minute', () => {
  const w = new TrafficWindow();
  const t0 = 60_000 * 1_000;
  for (let i = 0; i < 100; i++) w.record(t0 + i, i < 96 ? 10 : 300, 200, false);
  for (let i = 0; i < 10; i++) w.record(t0 + 200 + i, 5, 403, true);
  for (let i = 0; i < 7; i++) w.record(t0 + 300 + i, 5, 401, false);
  w.record(t0 + 60_000, 1, 200, false);
  const [first, ...rest] = w.completeMinutes(t0 + 60_500);
  assert.is(rest.length, 0, 'the current minute is not complete');
  assert.equal([first!.requests, first!.authRefusals], [117, 7]);
  assert.is(first!.p95Ms, 10);
  for (let i = 0; i < 100; i++) w.record(t0 + 120_000 + i, 400, 200, false);
  assert.is(w.completeMinutes(t0 + 180_000).at(-1)!.p95Ms, 400);
});

test('latency histograms: exact at whole milliseconds up to 1 s, within 1% above; they add up across nodes', () => {
  const h: Record<string, number> = {};
  for (const ms of [149.2, 150, 150.4]) h[latencyBucket(ms)] = (h[latencyBucket(ms)] ?? 0) + 1;
  assert.is(histogramQuantile(h, 0.3), 150, '149.2 and 150 are "150 ms", not above it');
  assert.is(histogramQuantile(h, 1), 151, '150.4 is above 150 ms');
  for (const ms of [1_234, 7_777, 59_000]) {
    const q = histogramQuantile({ [latencyBucket(ms)]: 1 }, 0.95)!;
    assert.ok(q >= ms && q <= ms * 1.0101, `${ms} → ${q}`);
  }
  assert.is(histogramQuantile({}, 0.95), null);
  const [sum] = mergeFigures([
    { minute: 7, requests: 60, authRefusals: 2, latency: { 10: 57, 300: 3 } },
    { minute: 7, requests: 40, authRefusals: 3, latency: { 10: 38, 300: 2 } },
  ]);
  assert.equal([sum!.requests, sum!.authRefusals, sum!.latency], [100, 5, { 10: 95, 300: 5 }]);
  assert.is(histogramQuantile(sum!.latency, 0.95), 10);
  assert.is(histogramQuantile(sum!.latency, 0.96), 300);
});

test.run();
