/** Time, injected so that days and TTLs can be jumped in tests. */
export interface Clock {
  now(): Date;
  /** Calls `fn` once at `at` (at once if past); returns a cancel function. */
  setTimer(at: Date, fn: () => void): () => void;
}

// setTimeout holds at most ~24.8 days; longer timers re-arm in steps.
const MAX_DELAY_MS = 2 ** 31 - 1;

export const systemClock: Clock = {
  now: () => new Date(),
  setTimer(at, fn) {
    let handle: NodeJS.Timeout;
    const arm = () => {
      const delay = at.getTime() - Date.now();
      if (delay > MAX_DELAY_MS) handle = setTimeout(arm, MAX_DELAY_MS);
      else handle = setTimeout(fn, Math.max(0, delay));
      handle.unref?.();
    };
    arm();
    return () => clearTimeout(handle);
  },
};

/** A clock that moves only when told to; due timers fire in time order. */
export class ManualClock implements Clock {
  #ms: number;
  #timers: Array<{ at: number; seq: number; fn: () => void }> = [];
  #seq = 0;

  constructor(start: Date | number = Date.UTC(2026, 0, 1)) {
    this.#ms = typeof start === 'number' ? start : start.getTime();
  }

  now(): Date {
    return new Date(this.#ms);
  }

  setTimer(at: Date, fn: () => void): () => void {
    const timer = { at: at.getTime(), seq: this.#seq++, fn };
    if (timer.at <= this.#ms) {
      queueMicrotask(() => this.#timers.includes(timer) && this.#fire(timer));
    }
    this.#timers.push(timer);
    return () => {
      this.#timers = this.#timers.filter((t) => t !== timer);
    };
  }

  /** Moves time forward, firing every timer that falls due, in order. */
  increment(ms: number): void {
    const target = this.#ms + ms;
    for (;;) {
      const due = this.#timers.filter((t) => t.at <= target).sort((a, b) => a.at - b.at || a.seq - b.seq)[0];
      if (!due) break;
      this.#ms = Math.max(this.#ms, due.at);
      this.#fire(due);
    }
    this.#ms = target;
  }

  #fire(timer: { at: number; seq: number; fn: () => void }): void {
    this.#timers = this.#timers.filter((t) => t !== timer);
    timer.fn();
  }
}
