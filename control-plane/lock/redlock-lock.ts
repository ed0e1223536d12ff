import { Redis } from 'ioredis';
import Redlock, { ExecutionError, Lock as RedlockLease, ResourceLockedError, type Settings } from 'redlock';
import { LockHeldError, LockLostError, UnavailableError } from '../../actors/errors';
import type { FenceSource, Lock, LockLease } from '../ports/lock';

export interface RedlockLockOptions {
  /** Redlock retries before giving up; 0 (default) makes a held lock an immediate refusal. */
  retryCount?: number;
  retryDelayMs?: number;
  retryJitterMs?: number;
  /** Prefix of every Redis key (tests isolate themselves with it). */
  keyPrefix?: string;
}

/**
 * The production mutex: Redlock over one ioredis client per independent
 * Redis node (REDIS_URLS), quorum N/2+1, with fencing tokens from the fence
 * store taken after the quorum is reached.
 */
export class RedlockLock implements Lock {
  readonly #redlock: Redlock;
  readonly #clients: Redis[];
  readonly #prefix: string;

  constructor(
    clients: Redis[],
    private readonly fences: FenceSource,
    options: RedlockLockOptions = {},
    private readonly ownsClients = false,
  ) {
    if (clients.length === 0) throw new Error('RedlockLock needs at least one Redis client');
    this.#clients = clients;
    this.#prefix = options.keyPrefix ?? '';
    // redlock's types name ioredis 4; ioredis 6 has the same eval/evalsha surface.
    this.#redlock = new Redlock(clients as never, {
      retryCount: options.retryCount ?? 0,
      retryDelay: options.retryDelayMs ?? 50,
      retryJitter: options.retryJitterMs ?? 25,
      automaticExtensionThreshold: 500,
    } satisfies Partial<Settings>);
    // Redlock reports each node's failed vote as an 'error' event; the outcome is what counts.
    this.#redlock.on('error', () => undefined);
  }

  /** One ioredis client per URL, as the config lists them. */
  static fromUrls(urls: readonly string[], fences: FenceSource, options: RedlockLockOptions = {}): RedlockLock {
    const clients = urls.map((u) => new Redis(u, { maxRetriesPerRequest: 1, enableOfflineQueue: false, lazyConnect: false }));
    for (const c of clients) c.on('error', () => undefined); // readiness reports outages
    return new RedlockLock(clients, fences, options, true);
  }

  async acquire(key: string, ttlMs: number): Promise<LockLease> {
    const resource = this.#prefix + key;
    let lock: RedlockLease;
    try {
      lock = await this.#redlock.acquire([resource], Math.max(1, Math.round(ttlMs)));
    } catch (err) {
      throw await refusalOf(err, key);
    }
    let fencingToken: number;
    try {
      fencingToken = await this.fences.next(key);
    } catch (err) {
      await this.#redlock.release(lock).catch(() => undefined);
      throw err;
    }
    const redlock = this.#redlock;
    const lease = {
      key,
      fencingToken,
      owner: lock.value,
      expiresAt: lock.expiration,
      async extend(ms: number) {
        try {
          lock = await redlock.extend(lock, Math.max(1, Math.round(ms)));
          lease.expiresAt = lock.expiration;
        } catch (err) {
          throw await lossOf(err, key);
        }
      },
      async release() {
        // A lease already lost releases nothing: the release script only deletes our own value.
        await redlock.release(lock).catch(() => undefined);
      },
    };
    return lease;
  }

  async releaseOwned(key: string, owner: string): Promise<boolean> {
    const stale = new RedlockLease(this.#redlock, [this.#prefix + key], owner, [], Date.now() + 1);
    try {
      await this.#redlock.release(stale);
      return true;
    } catch {
      return false;
    }
  }

  async close(): Promise<void> {
    if (!this.ownsClients) return;
    await Promise.all(this.#clients.map((c) => (c.status === 'ready' ? c.quit().then(() => undefined) : Promise.resolve(c.disconnect()))));
  }
}

/** Lost (expired, or another value holds the key) or only unreachable for now. */
async function lossOf(err: unknown, key: string): Promise<Error> {
  if (err instanceof ExecutionError) {
    const stats = await Promise.all(err.attempts).catch(() => []);
    const reasons = stats.flatMap((s) => [...s.votesAgainst.values()]);
    if (err.attempts.length === 0 || reasons.some((r) => r instanceof ResourceLockedError)) {
      return new LockLostError(`the lease on ${key} was lost: ${err.message}`, { cause: err, details: { key } });
    }
  }
  return new UnavailableError(`could not extend the lease on ${key}: ${(err as Error).message}`, { cause: err });
}

/** Held by someone (a node voted "already locked") or unreachable (no quorum for other reasons). */
async function refusalOf(err: unknown, key: string): Promise<Error> {
  if (!(err instanceof ExecutionError)) return new UnavailableError(`could not reach the lock nodes: ${(err as Error).message}`, { cause: err });
  const stats = await Promise.all(err.attempts).catch(() => []);
  const reasons = stats.flatMap((s) => [...s.votesAgainst.values()]);
  if (reasons.some((r) => r instanceof ResourceLockedError)) {
    return new LockHeldError(`${key} is held by another job`, { details: { key } });
  }
  return new UnavailableError(`no Redlock quorum for ${key}: ${reasons.map((r) => r.message).join('; ') || err.message}`, { cause: err });
}
