import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Clock } from '../ports/clock';

// setTimeout holds at most ~24.8 days of real time.
const MAX_DELAY_MS = 2 ** 31 - 1;

/**
 * A clock that runs `speed` times faster than the wall clock from `startMs`
 * (demo mode only: a simulated day passes in 86 400 / speed seconds, so day
 * closes, hourly promotion checks and rate limits happen in minutes).
 * Timers are armed in real time: a timer `d` simulated ms away fires after `d / speed` ms.
 */
export class AcceleratedClock implements Clock {
  readonly #realStart: number;

  constructor(
    readonly startMs: number,
    readonly speed: number,
    private readonly realNow: () => number = Date.now,
  ) {
    if (!(speed >= 1) || !Number.isFinite(speed)) throw new RangeError(`speed must be a finite number ≥ 1 (got ${speed})`);
    this.#realStart = realNow();
  }

  now(): Date {
    return new Date(this.nowMs());
  }

  nowMs(): number {
    return Math.floor(this.startMs + (this.realNow() - this.#realStart) * this.speed);
  }

  setTimer(at: Date, fn: () => void): () => void {
    let handle: NodeJS.Timeout;
    const arm = () => {
      const delay = (at.getTime() - this.nowMs()) / this.speed;
      if (delay > MAX_DELAY_MS) handle = setTimeout(arm, MAX_DELAY_MS);
      else handle = setTimeout(fn, Math.max(0, Math.ceil(delay)));
      handle.unref?.();
    };
    arm();
    return () => clearTimeout(handle);
  }
}

/** What `demo/clock.json` keeps: the simulated time reached, so a restart resumes from there. */
interface SavedClock {
  simulatedNow: string;
}

/**
 * The demo clock of a data folder: resumes from the simulated time saved by
 * the last run (never goes back, so persisted timers and closed days stay in
 * the past), or starts at the wall clock. `save()` records where it is.
 */
export function openDemoClock(dataDir: string, speed: number): { clock: AcceleratedClock; save(): void; file: string } {
  const file = join(dataDir, 'demo', 'clock.json');
  let startMs = Date.now();
  if (existsSync(file)) {
    const saved = JSON.parse(readFileSync(file, 'utf8')) as SavedClock;
    const ms = Date.parse(saved.simulatedNow);
    if (Number.isFinite(ms)) startMs = Math.max(ms, startMs);
  }
  const clock = new AcceleratedClock(startMs, speed);
  const save = () => {
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    const tmp = `${file}.tmp`;
    writeFileSync(tmp, JSON.stringify({ simulatedNow: clock.now().toISOString() } satisfies SavedClock) + '\n', { mode: 0o600 });
    renameSync(tmp, file);
  };
  save();
  return { clock, save, file };
}
