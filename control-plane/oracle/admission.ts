import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { ReplayCacheUnavailableError } from '../../actors/errors';
import type { Admission, AdmissionDecision } from '../ports/admission';
import type { RateLimiter } from '../ports/rate-limiter';
import type { ReplayCache } from '../ports/replay-cache';

// The jti claim (SET NX EXAT) and, when it is the first, the sliding window
// of rate-limiters.ts — one script, one round trip per request.
const ADMIT = `
if not redis.call('SET', KEYS[1], '1', 'EXAT', ARGV[1], 'NX') then return {1, 0, 0} end
local key, now, window, limit, member = KEYS[2], tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]), ARGV[5]
redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
local count = redis.call('ZCARD', key)
if count < limit then
  redis.call('ZADD', key, now, member)
  redis.call('PEXPIRE', key, window)
  return {0, 1, 0}
end
local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
return {0, 0, tonumber(oldest[2]) + window - now}
`;

/** Redis: claim and rate slot in one Lua script (keys as RedisReplayCache and RedisRateLimiter name them). */
export class RedisAdmission implements Admission {
  #seq = 0;
  readonly #node = randomBytes(6).toString('base64url');

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {
    redis.defineCommand('tollgateAdmit', { numberOfKeys: 2, lua: ADMIT });
  }

  async admit(claim: { key: string; expiresAt: Date }, rate: { key: string; limit: number; windowMs: number }, now: Date): Promise<AdmissionDecision> {
    const t = now.getTime();
    let reply: [number, number, number];
    try {
      reply = await (this.redis as unknown as { tollgateAdmit(...args: unknown[]): Promise<[number, number, number]> }).tollgateAdmit(
        `${this.prefix}jti:${claim.key}`,
        `${this.prefix}rate:${rate.key}`,
        Math.max(1, Math.ceil(claim.expiresAt.getTime() / 1000)),
        t,
        rate.windowMs,
        rate.limit,
        `${t}:${this.#node}:${this.#seq++}`,
      );
    } catch (err) {
      throw new ReplayCacheUnavailableError('the replay cache is unreachable; refusing rather than accepting a possible replay', { cause: err });
    }
    return { replayed: reply[0] === 1, allowed: reply[1] === 1, retryAfterMs: Math.max(0, Number(reply[2])) };
  }
}

/** The two steps in sequence over separate adapters (the in-process mode). */
export class SequentialAdmission implements Admission {
  constructor(
    private readonly replay: ReplayCache,
    private readonly limiter: RateLimiter,
  ) {}

  async admit(claim: { key: string; expiresAt: Date }, rate: { key: string; limit: number; windowMs: number }, now: Date): Promise<AdmissionDecision> {
    if (!(await this.replay.claim(claim.key, claim.expiresAt))) return { replayed: true, allowed: false, retryAfterMs: 0 };
    return { replayed: false, ...(await this.limiter.hit(rate.key, rate.limit, rate.windowMs, now)) };
  }
}

/** Token ids a node remembers (about 100 bytes each). */
export const REMEMBERED_CLAIMS = 100_000;

/**
 * Remembers the token ids this node has seen claimed (by itself or, as a
 * replay, by another node) until they expire: a replay sent to the same node
 * again is refused from memory, without a Redis round trip. Only what the
 * shared cache has answered is remembered, so this never refuses a first use;
 * a replay sent to another node still goes to Redis. The oldest entries go
 * first when the map is full (they only cost a round trip then).
 */
export class RememberingAdmission implements Admission {
  readonly #claimed = new Map<string, number>();

  constructor(
    private readonly inner: Admission,
    private readonly capacity = REMEMBERED_CLAIMS,
  ) {}

  async admit(claim: { key: string; expiresAt: Date }, rate: { key: string; limit: number; windowMs: number }, now: Date): Promise<AdmissionDecision> {
    const until = this.#claimed.get(claim.key);
    if (until !== undefined) {
      if (until > now.getTime()) return { replayed: true, allowed: false, retryAfterMs: 0 };
      this.#claimed.delete(claim.key);
    }
    const decision = await this.inner.admit(claim, rate, now);
    if (this.#claimed.size >= this.capacity) this.#claimed.delete(this.#claimed.keys().next().value!);
    this.#claimed.set(claim.key, claim.expiresAt.getTime());
    return decision;
  }

  /** Token ids remembered now (for tests and metrics). */
  get size(): number {
    return this.#claimed.size;
  }
}
