import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { RateLimiterUnavailableError } from '../../actors/errors';
import type { RateDecision, RateLimiter } from '../ports/rate-limiter';

// A sorted-set log per key: drop what left the window, count, admit and
// record, or say when the oldest entry leaves. Atomic, so nodes share it.
const SLIDING_WINDOW = `
local key, now, window, limit, member = KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4]
redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
local count = redis.call('ZCARD', key)
if count < limit then
  redis.call('ZADD', key, now, member)
  redis.call('PEXPIRE', key, window)
  return {1, 0}
end
local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
return {0, tonumber(oldest[2]) + window - now}
`;

/** Redis adapter: a sliding log in a sorted set, evaluated by one Lua script. */
export class RedisRateLimiter implements RateLimiter {
  #seq = 0;
  readonly #node = randomBytes(6).toString('base64url');

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {
    redis.defineCommand('tollgateSlidingWindow', { numberOfKeys: 1, lua: SLIDING_WINDOW });
  }

  async hit(key: string, limit: number, windowMs: number, now: Date): Promise<RateDecision> {
    const member = `${now.getTime()}:${this.#node}:${this.#seq++}`;
    let reply: [number, number];
    try {
      reply = (await (this.redis as unknown as { tollgateSlidingWindow(...args: unknown[]): Promise<[number, number]> }).tollgateSlidingWindow(
        `${this.prefix}rate:${key}`,
        now.getTime(),
        windowMs,
        limit,
        member,
      ));
    } catch (err) {
      throw new RateLimiterUnavailableError('the rate limiter is unreachable; refusing rather than admitting unmetered traffic', { cause: err });
    }
    return { allowed: reply[0] === 1, retryAfterMs: Math.max(0, Number(reply[1])) };
  }
}

/** In-process adapter: the same sliding log per key, in memory. */
export class InProcessRateLimiter implements RateLimiter {
  readonly #logs = new Map<string, number[]>();

  async hit(key: string, limit: number, windowMs: number, now: Date): Promise<RateDecision> {
    const t = now.getTime();
    let log = this.#logs.get(key);
    if (!log) this.#logs.set(key, (log = []));
    // Entries are in time order; drop the ones that left the window (score ≤ now − window, as in Redis).
    let drop = 0;
    while (drop < log.length && log[drop]! <= t - windowMs) drop++;
    if (drop > 0) log.splice(0, drop);
    if (log.length < limit) {
      log.push(t);
      return { allowed: true, retryAfterMs: 0 };
    }
    return { allowed: false, retryAfterMs: Math.max(0, log[0]! + windowMs - t) };
  }
}
