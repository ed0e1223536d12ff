import { Redis } from 'ioredis';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { REDIS_URL, requireRedis, testRedisPrefix } from '../../test/support/services';
import { ManualClock } from '../ports/clock';
import { limitsContract } from './limits.contract';
import { RedisAdmission, SequentialAdmission } from './admission';
import { InProcessRateLimiter, RedisRateLimiter } from './rate-limiters';
import { InProcessReplayCache, RedisReplayCache } from './replay-caches';

// Probe first: a top-level await after a suite's .run() garbles uvu's output.
const redisAvailable = await requireRedis();
const inProcess = suite('replay cache + rate limiter: in-process adapters');
limitsContract(inProcess, async () => {
  const clock = new ManualClock(Date.now());
  return { clock, replay: new InProcessReplayCache(clock), limiter: new InProcessRateLimiter(), admission: new SequentialAdmission(new InProcessReplayCache(clock), new InProcessRateLimiter()) };
});
inProcess.run();

if (redisAvailable) {
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
  const prefixes: string[] = [];
  const viaRedis = suite('replay cache + rate limiter: Redis adapters');
  viaRedis.after(async () => {
    for (const p of prefixes) {
      const keys = await redis.keys(`${p}*`);
      if (keys.length) await redis.del(...keys);
    }
    redis.disconnect();
  });
  limitsContract(viaRedis, async () => {
    const prefix = testRedisPrefix('limits');
    prefixes.push(prefix);
    return { clock: new ManualClock(Date.now()), replay: new RedisReplayCache(redis, prefix), limiter: new RedisRateLimiter(redis, prefix), admission: new RedisAdmission(redis, prefix) };
  });
  viaRedis('Redis unreachable: all three fail closed with their 503 error', async () => {
    const dead = new Redis('redis://127.0.0.1:1', { lazyConnect: true, showFriendlyErrorStack: false, enableOfflineQueue: false, maxRetriesPerRequest: 0, retryStrategy: () => null });
    dead.on('error', () => undefined);
    await dead.connect().catch(() => undefined);
    const replayErr = await new RedisReplayCache(dead, 'x:').claim('k', new Date(Date.now() + 1000)).catch((e: Error) => e);
    assert.is((replayErr as { code?: string }).code, 'REPLAY_CACHE_UNAVAILABLE');
    const rateErr = await new RedisRateLimiter(dead, 'x:').hit('k', 1, 1000, new Date()).catch((e: Error) => e);
    assert.is((rateErr as { code?: string }).code, 'RATE_LIMITER_UNAVAILABLE');
    const admitErr = await new RedisAdmission(dead, 'x:').admit({ key: 'k', expiresAt: new Date(Date.now() + 1000) }, { key: 'k', limit: 1, windowMs: 1000 }, new Date()).catch((e: Error) => e);
    assert.is((admitErr as { code?: string }).code, 'REPLAY_CACHE_UNAVAILABLE');
    dead.disconnect();
  });
  viaRedis.run();
}
