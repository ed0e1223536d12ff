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
