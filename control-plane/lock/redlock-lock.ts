import { Redis } from 'ioredis';
import Redlock, { ExecutionError, Lock as RedlockLease, ResourceLockedError, type Settings } from 'redlock';
import { LockHeldError, LockLostError, UnavailableError } from '../../actors/errors';
import type { FenceSource, Lock, LockLease } from '../ports/lock';
import { FAIR_RELEASE_SCRIPT, fairAcquireScript, freeChannel, LEAVE_QUEUE_SCRIPT, lockValue } from './fair-queue';
import { FreeSignals } from './free-signals';
import { decideWhenQuorumIsOutOfReach } from './quorum-vote';

/** A tie (see refusalOf) is retried this many times at most, after 1–TIE_BREAK_MS ms each. */
const MAX_TIE_BREAKS = 8;
const TIE_BREAK_MS = 25;
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export interface RedlockLockOptions {
  /** Redlock retries before giving up; 0 (default) makes a held lock an immediate refusal. */
  retryCount?: number;
  retryDelayMs?: number;
  retryJitterMs?: number;
  /** Prefix of every Redis key (tests isolate themselves with it). */
  keyPrefix?: string;
  /**
   * A waiter not seen for this long leaves the queue (default: five retry
   * intervals, at least 250 ms). See fair-queue.ts.
   */
  waiterStaleMs?: number;
}

/**
 * The production mutex: Redlock over one ioredis client per independent
 * Redis node (REDIS_URLS), quorum N/2+1, with fencing tokens from the fence
 * store taken after the quorum is reached. Callers that wait (retryCount > 0)
 * are served first come, first served (fair-queue.ts).
 */
export class RedlockLock implements Lock {
  readonly #redlock: Redlock;
  readonly #clients: Redis[];
  readonly #prefix: string;
  readonly #retry: { count: number; delayMs: number; jitterMs: number };
  readonly #signals: FreeSignals;
  /** The value the next redlock attempt uses (read synchronously by its `_random`). */
  #value = '';

  constructor(
    clients: Redis[],
    private readonly fences: FenceSource,
    options: RedlockLockOptions = {},
    private readonly ownsClients = false,
  ) {
    if (clients.length === 0) throw new Error('RedlockLock needs at least one Redis client');
    this.#clients = clients;
    this.#prefix = options.keyPrefix ?? '';
    const retryCount = options.retryCount ?? 0;
    const retryDelay = options.retryDelayMs ?? 50;
    const retryJitter = options.retryJitterMs ?? 25;
    const staleMs = options.waiterStaleMs ?? Math.max(250, 5 * (retryDelay + retryJitter));
    this.#retry = { count: retryCount, delayMs: retryDelay, jitterMs: retryJitter };
    this.#signals = new FreeSignals(clients[0]!);
    // redlock's types name ioredis 4; ioredis 6 has the same eval/evalsha surface.
    // Each redlock call is one attempt; this class retries (it keeps the caller's place and wakes on release).
    this.#redlock = new Redlock(
      clients as never,
      { retryCount: 0, retryDelay, retryJitter, automaticExtensionThreshold: 500 } satisfies Partial<Settings>,
      // redlock 5 beta takes only functions here (a string is silently ignored).
      { acquireScript: () => fairAcquireScript(staleMs), releaseScript: () => FAIR_RELEASE_SCRIPT },
    );
    // The lock value carries the first attempt's time and whether the caller waits (fair-queue.ts), and
    // stays the same across a caller's attempts; redlock draws it synchronously at the start of each
    // acquire from this (private, so set on the instance) method.
    (this.#redlock as unknown as { _random: () => string })._random = () => this.#value;
    // A split vote (even node count) must end the attempt, not hang it.
    decideWhenQuorumIsOutOfReach(this.#redlock);
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
    const value = lockValue(Date.now(), this.#retry.count > 0);
    // Listening before the first attempt: a release that lands while an attempt is in flight still wakes us.
    const wakeUps = this.#retry.count > 0 ? this.#signals.listen(freeChannel(resource), value) : undefined;
    let lock: RedlockLease;
    let ties = 0;
    try {
      for (let attempt = 0; ; attempt++) {
        try {
          this.#value = value;
          lock = await this.#redlock.acquire([resource], Math.max(1, Math.round(ttlMs)));
          break;
        } catch (err) {
          const { refusal, split } = await refusalOf(err, key);
          if (split && ties < MAX_TIE_BREAKS) {
            // Nobody holds a quorum: two callers each took some nodes at once, and redlock has
            // released both partial locks. Redlock's answer is a retry after a random delay;
            // the first back takes every node and the other is refused as "held".
            ties++;
            attempt--;
            await sleep(1 + Math.floor(Math.random() * TIE_BREAK_MS));
            continue;
          }
          if (!wakeUps || attempt >= this.#retry.count || !(refusal instanceof LockHeldError)) {
            if (wakeUps) await this.#leaveQueue(resource, value);
            throw refusal;
          }
        }
        const { delayMs, jitterMs } = this.#retry;
        await wakeUps.next(Math.max(0, delayMs + Math.floor((Math.random() * 2 - 1) * jitterMs)));
      }
    } finally {
      wakeUps?.close();
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

  /** Best effort on every node: a waiter that is not removed here is dropped once stale. */
  async #leaveQueue(resource: string, value: string): Promise<void> {
    await Promise.all(this.#clients.map((c) => c.eval(LEAVE_QUEUE_SCRIPT, 1, resource, value).catch(() => undefined)));
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
    await this.#signals.close();
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

/**
 * Held by someone (a node voted "already locked") or unreachable (no quorum for other reasons).
 * `split`: held on some nodes only while we took others, so nobody has a quorum (a tie).
 */
async function refusalOf(err: unknown, key: string): Promise<{ refusal: Error; split: boolean }> {
  if (!(err instanceof ExecutionError)) {
    return { refusal: new UnavailableError(`could not reach the lock nodes: ${(err as Error).message}`, { cause: err }), split: false };
  }
  const stats = await Promise.all(err.attempts).catch(() => []);
  const reasons = stats.flatMap((s) => [...s.votesAgainst.values()]);
  if (reasons.some((r) => r instanceof ResourceLockedError)) {
    const split = stats.some((s) => s.votesFor.size > 0 && s.votesAgainst.size < s.quorumSize);
    return { refusal: new LockHeldError(`${key} is held by another job (or others are queued for it)`, { details: { key } }), split };
  }
  const detail = reasons.map((r) => r.message).join('; ') || err.message;
  return { refusal: new UnavailableError(`no Redlock quorum for ${key}: ${detail}`, { cause: err }), split: false };
}
