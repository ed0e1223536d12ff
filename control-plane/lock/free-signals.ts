import type { Redis } from 'ioredis';

/** One caller's wake-ups for one lock while it waits. */
export interface FreeListener {
  /** Resolves at the next wake-up, or at once if one came since the last call; else after `ms`. */
  next(ms: number): Promise<void>;
  close(): void;
}

/**
 * Wakes a waiter when a lock it queues for is released to it: one subscriber
 * connection (a duplicate of a Redlock node's client, opened on first use),
 * a channel subscribed while somebody waits on it. A listener is registered
 * before the caller's first attempt, so a release that lands while an attempt
 * is in flight is not missed. Missing a message anyway (subscriber down)
 * only costs a retry delay: waiters also wake on their own timer.
 */
export class FreeSignals {
  #sub: Redis | undefined;
  readonly #listeners = new Map<string, Set<{ token: string; wake(): void }>>();

  constructor(private readonly source: Redis) {}

  /** Listens for `token` (or an empty message: everyone) on `channel`. */
  listen(channel: string, token: string): FreeListener {
    let set = this.#listeners.get(channel);
    if (!set) {
      set = new Set();
      this.#listeners.set(channel, set);
      this.#subscriber()
        .subscribe(channel)
        .catch(() => undefined); // the timer still wakes the waiter
    }
    const listeners = set;
    let woken = false;
    let pending: (() => void) | undefined;
    const entry = {
      token,
      wake() {
        woken = true;
        pending?.();
      },
    };
    listeners.add(entry);
    return {
      next: (ms) =>
        new Promise<void>((resolve) => {
          if (woken) {
            woken = false;
            resolve();
            return;
          }
          const timer = setTimeout(() => done(), ms);
          const done = () => {
            clearTimeout(timer);
            pending = undefined;
            woken = false;
            resolve();
          };
          pending = done;
        }),
      close: () => {
        pending?.();
        listeners.delete(entry);
        // Callers come straight back for the next lease: unsubscribe only once the channel has stayed idle.
        if (listeners.size === 0) setTimeout(() => this.#idle(channel, listeners), 1_000).unref();
      },
    };
  }

  #idle(channel: string, listeners: Set<unknown>): void {
    if (listeners.size > 0 || this.#listeners.get(channel) !== listeners) return;
    this.#listeners.delete(channel);
    this.#sub?.unsubscribe(channel).catch(() => undefined);
  }

  #subscriber(): Redis {
    if (!this.#sub) {
      const sub = this.source.duplicate({ enableOfflineQueue: true, maxRetriesPerRequest: 1 });
      sub.on('error', () => undefined); // a lost subscriber degrades to timer retries
      sub.on('message', (channel: string, message: string) => {
        for (const l of [...(this.#listeners.get(channel) ?? [])]) if (message === '' || message === l.token) l.wake();
      });
      this.#sub = sub;
    }
    return this.#sub;
  }

  async close(): Promise<void> {
    const sub = this.#sub;
    this.#sub = undefined;
    for (const set of this.#listeners.values()) for (const l of [...set]) l.wake();
    this.#listeners.clear();
    if (sub) await (sub.status === 'ready' ? sub.quit().then(() => undefined) : Promise.resolve(sub.disconnect()));
  }
}
