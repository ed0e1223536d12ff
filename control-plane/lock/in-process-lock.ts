import { randomBytes } from 'node:crypto';
import { LockHeldError, LockLostError } from '../../actors/errors';
import type { Clock } from '../ports/clock';
import type { FenceSource, Lock, LockLease } from '../ports/lock';

/** The embedded mutex: a map of key → holder with expiry on the injected clock. */
export class InProcessLock implements Lock {
  readonly #held = new Map<string, { owner: string; expiresAt: number }>();

  constructor(
    private readonly fences: FenceSource,
    private readonly clock: Clock,
  ) {}

  #live(key: string): { owner: string; expiresAt: number } | undefined {
    const h = this.#held.get(key);
    if (h && h.expiresAt <= this.clock.now().getTime()) {
      this.#held.delete(key);
      return undefined;
    }
    return h;
  }

  async acquire(key: string, ttlMs: number): Promise<LockLease> {
    if (this.#live(key)) throw new LockHeldError(`${key} is held by another job`, { details: { key } });
    const owner = randomBytes(16).toString('hex');
    const holder = { owner, expiresAt: this.clock.now().getTime() + ttlMs };
    this.#held.set(key, holder); // claimed before the await: no second acquire slips in meanwhile
    let fencingToken: number;
    try {
      fencingToken = await this.fences.next(key);
    } catch (err) {
      if (this.#held.get(key) === holder) this.#held.delete(key);
      throw err;
    }
    const lease = {
      key,
      fencingToken,
      owner,
      expiresAt: holder.expiresAt,
      extend: async (ms: number) => {
        if (this.#live(key) !== holder) throw new LockLostError(`the lease on ${key} was lost`, { details: { key } });
        holder.expiresAt = this.clock.now().getTime() + ms;
        lease.expiresAt = holder.expiresAt;
      },
      release: async () => {
        if (this.#held.get(key) === holder) this.#held.delete(key);
      },
    };
    return lease;
  }

  async releaseOwned(key: string, owner: string): Promise<boolean> {
    if (this.#live(key)?.owner !== owner) return false;
    this.#held.delete(key);
    return true;
  }

  async close(): Promise<void> {
    this.#held.clear();
  }
}
