import { Redis } from 'ioredis';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { REDIS_URL, requireRedis, testRedisPrefix } from '../../test/support/services';
import { ManualClock } from '../ports/clock';
import { limitsContract } from './limits.contract';
import { RedisAdmission, RememberingAdmission, SequentialAdmission } from './admission';
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

  const remembering = suite('admission remembered on the node, over Redis');
  remembering.after(async () => {
    for (const p of prefixes) {
      const keys = await redis.keys(`${p}*`);
      if (keys.length) await redis.del(...keys);
    }
  });
  limitsContract(remembering, async () => {
    const prefix = testRedisPrefix('limits-mem');
    prefixes.push(prefix);
    return {
      clock: new ManualClock(Date.now()),
      replay: new RedisReplayCache(redis, prefix),
      limiter: new RedisRateLimiter(redis, prefix),
      admission: new RememberingAdmission(new RedisAdmission(redis, prefix)),
    };
  });
  remembering('a replay to the same node is refused from memory (Redis down); one to another node asks Redis; memory is bounded', async () => {
    const prefix = testRedisPrefix('limits-mem');
    prefixes.push(prefix);
    const own = new Redis(REDIS_URL, { enableOfflineQueue: false, maxRetriesPerRequest: 0 });
    await new Promise((r) => own.once('ready', r));
    const node = new RememberingAdmission(new RedisAdmission(own, prefix), 3);
    const other = new RememberingAdmission(new RedisAdmission(redis, prefix));
    const now = new Date();
    const exp = new Date(now.getTime() + 60_000);
    const rate = { key: 'acme', limit: 100, windowMs: 1_000 };
    assert.is((await node.admit({ key: 'acme:a', expiresAt: exp }, rate, now)).allowed, true);
    assert.is((await other.admit({ key: 'acme:a', expiresAt: exp }, rate, now)).replayed, true, 'the other node learns it from Redis');
    own.disconnect();
    assert.equal(await node.admit({ key: 'acme:a', expiresAt: exp }, rate, now), { replayed: true, allowed: false, retryAfterMs: 0 }, 'no round trip');
    const fresh = await node.admit({ key: 'acme:b', expiresAt: exp }, rate, now).catch((e: Error) => e);
    assert.is((fresh as { code?: string }).code, 'REPLAY_CACHE_UNAVAILABLE', 'a first use still needs Redis: fails closed');
    assert.is(node.size, 1, 'a failed claim is not remembered');
    // Past its expiry a key is forgotten (and asked again).
    const later = new Date(exp.getTime() + 1);
    const asked = await node.admit({ key: 'acme:a', expiresAt: exp }, rate, later).catch((e: Error) => e);
    assert.is((asked as { code?: string }).code, 'REPLAY_CACHE_UNAVAILABLE');
    // Bounded: the oldest go first.
    for (const k of ['x1', 'x2', 'x3', 'x4']) await other.admit({ key: `acme:${k}`, expiresAt: exp }, rate, now);
    const small = new RememberingAdmission(new RedisAdmission(redis, prefix), 3);
    for (const k of ['x1', 'x2', 'x3', 'x4']) assert.is((await small.admit({ key: `acme:${k}`, expiresAt: exp }, rate, now)).replayed, true);
    assert.is(small.size, 3);
  });
  remembering.after(() => redis.disconnect());
  remembering.run();
}
