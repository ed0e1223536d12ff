import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { AcceleratedClock, openDemoClock } from './accelerated-clock';

const test = suite('demo: accelerated clock');

test('now() runs `speed` times faster than the wall clock from its start', () => {
  let real = 1_000_000;
  const clock = new AcceleratedClock(Date.UTC(2026, 0, 1), 2880, () => real);
  assert.is(clock.now().toISOString(), '2026-01-01T00:00:00.000Z');
  real += 30_000; // 30 real seconds…
  assert.is(clock.now().toISOString(), '2026-01-02T00:00:00.000Z'); // …one simulated day
});

test('a speed below 1 or not finite is refused', () => {
  assert.throws(() => new AcceleratedClock(0, 0.5), /speed/);
  assert.throws(() => new AcceleratedClock(0, Number.NaN), /speed/);
  assert.throws(() => new AcceleratedClock(0, Infinity), /speed/);
});

test('timers fire after the simulated delay divided by the speed, in order; cancel works', async () => {
  const clock = new AcceleratedClock(Date.now(), 36_000); // an hour in 100 ms
  const fired: string[] = [];
  const t0 = Date.now();
  const start = clock.now().getTime();
  clock.setTimer(new Date(start + 3_600_000), () => fired.push('hour'));
  clock.setTimer(new Date(start + 1_800_000), () => fired.push('half'));
  const cancel = clock.setTimer(new Date(start + 900_000), () => fired.push('cancelled'));
  clock.setTimer(new Date(start - 1), () => fired.push('past'));
  cancel();
  await new Promise((r) => setTimeout(r, 200));
  assert.equal(fired, ['past', 'half', 'hour']);
  assert.ok(Date.now() - t0 < 1_000);
});

test('the demo clock of a data folder resumes from the saved simulated time, never backwards', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tg-demo-clock-'));
  try {
    const first = openDemoClock(dir, 86_400); // a day a second
    await new Promise((r) => setTimeout(r, 100));
    first.save();
    const saved = Date.parse(JSON.parse(readFileSync(first.file, 'utf8')).simulatedNow);
    assert.ok(saved > Date.now() + 2 * 3_600_000, 'well ahead of the wall clock');
    assert.is(statSync(first.file).mode & 0o777, 0o600);
    const second = openDemoClock(dir, 86_400);
    assert.ok(second.clock.now().getTime() >= saved);
    assert.ok(second.clock.now().getTime() < saved + 86_400_000, 'from the saved time, not from scratch');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
