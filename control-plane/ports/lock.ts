/**
 * A mutex with fencing tokens. `acquire` either returns a lease or throws
 * LockHeldError (the typed refusal); every lease carries a fencing token
 * that is larger than any handed out before for the same key, so writes
 * guarded by it can refuse a holder that lost its lock. One adapter over
 * Redlock (one ioredis client per Redis node), one in-process; both pass
 * lock.contract.ts.
 */
export interface LockLease {
  readonly key: string;
  /** Monotonic per key across every adapter instance sharing the fence store. */
  readonly fencingToken: number;
  /** Opaque holder id: lets a restarted node release a lease it cannot hold in memory. */
  readonly owner: string;
  /** When the lease lapses unless extended (epoch ms, as the adapter's clock reads it). */
  readonly expiresAt: number;
  /** Pushes expiry to now + ttlMs; throws LockLostError if the lease was lost. */
  extend(ttlMs: number): Promise<void>;
  /** Gives the lock up; a lease already lost is a no-op. */
  release(): Promise<void>;
}

export interface Lock {
  /** Takes `key` for `ttlMs`; throws LockHeldError when someone else holds it. */
  acquire(key: string, ttlMs: number): Promise<LockLease>;
  /** Releases `key` if `owner` still holds it (a lease persisted before a crash). */
  releaseOwned(key: string, owner: string): Promise<boolean>;
  close(): Promise<void>;
}

/** Where fencing tokens come from (Postgres in every mode: it is the store the guarded writes hit). */
export interface FenceSource {
  /** Bumps and returns the token for `key`. */
  next(key: string): Promise<number>;
}
