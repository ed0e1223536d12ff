import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { LockHeldError } from '../../actors/errors';
import { rejectsA } from '../../test/support/assert';
import { REDIS_URL, requireRedis } from '../../test/support/services';
import type { LockLease } from '../ports/lock';
import { RedlockLock, type RedlockLockOptions } from './redlock-lock';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const redisUp = await requireRedis();

interface Ctx {
  clients: Redis[];
  prefix: string;
  n: number;
  made: RedlockLock[];
  lock(o?: RedlockLockOptions): RedlockLock;
}

const test = suite<Ctx>('Redlock fair queue (two Redis nodes, quorum 2 of 2)', {} as Ctx);

test.before((ctx) => {
  // Two logical databases stand in for two independent Redlock nodes.
  ctx.clients = [new Redis(`${REDIS_URL}/0`), new Redis(`${REDIS_URL}/1`)];
  ctx.prefix = `tg-fair-${randomBytes(4).toString('hex')}:`;
  ctx.n = 0;
  let token = 0;
  const fences = { next: async () => ++token };
  ctx.made = [];
  ctx.lock = (o = {}) => {
    const lock = new RedlockLock(ctx.clients, fences, { keyPrefix: ctx.prefix, ...o });
    ctx.made.push(lock);
    return lock;
  };
});
test.after(async (ctx) => {
  for (const lock of ctx.made) await lock.close(); // their subscriber connections
  for (const c of ctx.clients) {
    const keys = await c.keys(`${ctx.prefix}*`);
    if (keys.length) await c.del(...keys);
    await c.quit();
  }
});

test('the lock value says when the caller first tried and whether it waits', async (ctx) => {
  const key = `k${ctx.n++}`;
  const now = Date.now();
  const a = await ctx.lock().acquire(key, 5_000);
  assert.match(a.owner, /^\d{13}\.n\.[0-9a-f]{24}$/);
  assert.ok(Math.abs(Number(a.owner.split('.')[0]) - now) < 1_000);
  await a.release();
  const b = await ctx.lock({ retryCount: 3, retryDelayMs: 5, retryJitterMs: 1 }).acquire(key, 5_000);
  assert.match(b.owner, /^\d{13}\.w\./);
  await b.release();
});

test('waiters get a released key in the order they first asked; a holder that asks again queues behind them', async (ctx) => {
  const key = `k${ctx.n++}`;
  const waiting = () => ctx.lock({ retryCount: 1_000, retryDelayMs: 3, retryJitterMs: 2 });
  const first = await waiting().acquire(key, 5_000);
  const order: string[] = [];
  const take = async (name: string) => {
    const lease = await waiting().acquire(key, 5_000);
    order.push(name);
    await sleep(5);
    await lease.release();
  };
  const runs: Promise<void>[] = [];
  for (const name of ['w1', 'w2', 'w3', 'w4']) {
    runs.push(take(name));
    await sleep(25); // each has retried (and queued) before the next one starts
  }
  const t0 = performance.now();
  await first.release();
  runs.push(take('first-again'));
  await Promise.all(runs);
  // Woken by the release, not by their 3 ± 2 ms retry ticks alone: five handoffs with 5 ms holds.
  assert.ok(performance.now() - t0 < 500, `${(performance.now() - t0).toFixed(0)} ms`);
  assert.equal(order, ['w1', 'w2', 'w3', 'w4', 'first-again']);
  for (const c of ctx.clients) assert.is(await c.zcard(`${ctx.prefix}${key}:waiters`), 0, 'the queue is empty afterwards');
});

test('a caller that does not wait is refused while others are queued, and gets the key once they are gone', async (ctx) => {
  const key = `k${ctx.n++}`;
  const now = Date.now();
  // A live waiter on both nodes (as another process would leave it between two retries).
  for (const c of ctx.clients) {
    await c.zadd(`${ctx.prefix}${key}:waiters`, now, `${now}.w.someone`);
    await c.zadd(`${ctx.prefix}${key}:seen`, now, `${now}.w.someone`);
  }
  const lock = ctx.lock({ waiterStaleMs: 150 });
  const err = await rejectsA(lock.acquire(key, 5_000), LockHeldError, /queued/);
  assert.is(err.code, 'LOCKED');
  await sleep(200); // the waiter has not come back: it is dropped
  const lease = await lock.acquire(key, 5_000);
  await lease.release();
});

test('a waiter that gives up leaves the queue at once', async (ctx) => {
  const key = `k${ctx.n++}`;
  const holder = await ctx.lock().acquire(key, 5_000);
  await rejectsA(ctx.lock({ retryCount: 3, retryDelayMs: 5, retryJitterMs: 1 }).acquire(key, 5_000), LockHeldError);
  for (const c of ctx.clients) assert.is(await c.zcard(`${ctx.prefix}${key}:waiters`), 0);
  await holder.release();
  const next = await ctx.lock().acquire(key, 5_000);
  await next.release();
});

test('a waiter that stalls past the stale time comes back at its old place', async (ctx) => {
  const key = `k${ctx.n++}`;
  const holder = await ctx.lock().acquire(key, 5_000);
  const old = Date.now() - 10_000;
  for (const c of ctx.clients) {
    // Queued long ago and not seen since: dropped on the next attempt by anyone.
    await c.zadd(`${ctx.prefix}${key}:waiters`, old, `${old}.w.stalled`);
    await c.zadd(`${ctx.prefix}${key}:seen`, old, `${old}.w.stalled`);
  }
  const young = ctx.lock({ retryCount: 1_000, retryDelayMs: 3, retryJitterMs: 1, waiterStaleMs: 100 });
  const pending = young.acquire(key, 5_000);
  await sleep(30);
  for (const c of ctx.clients) assert.is(await c.zscore(`${ctx.prefix}${key}:waiters`, `${old}.w.stalled`), null, 'dropped');
  // It comes back (its next attempt): first in line again by its first-attempt time.
  for (const c of ctx.clients) {
    await c.eval("redis.call('ZADD', KEYS[1], ARGV[1], ARGV[2]); redis.call('ZADD', KEYS[2], ARGV[3], ARGV[2])", 2, `${ctx.prefix}${key}:waiters`, `${ctx.prefix}${key}:seen`, old, `${old}.w.stalled`, Date.now() + 60_000);
  }
  await holder.release();
  await sleep(60);
  for (const c of ctx.clients) assert.is(await c.exists(`${ctx.prefix}${key}`), 0, 'the young waiter does not jump the stalled one');
  for (const c of ctx.clients) await c.zrem(`${ctx.prefix}${key}:waiters`, `${old}.w.stalled`);
  const lease = await pending;
  await lease.release();
});

/** Fails instead of hanging: a promise that has not settled within `ms` is a bug here. */
function within<T>(ms: number, what: string, p: Promise<T>): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: not settled within ${ms} ms`)), ms)));
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

test('a split vote (held on one node of two) is a refusal at once, not a hang; the partial lock is undone', async (ctx) => {
  const key = `k${ctx.n++}`;
  // Held on node 1 only: node 0 votes for, node 1 against; the quorum (2) is out of reach.
  await ctx.clients[1]!.set(`${ctx.prefix}${key}`, `${Date.now()}.n.someoneelse`, 'PX', 5_000);
  const err = await within(5_000, 'acquire on a split vote', rejectsA(ctx.lock().acquire(key, 5_000), LockHeldError));
  assert.is(err.code, 'LOCKED');
  assert.is(await ctx.clients[0]!.exists(`${ctx.prefix}${key}`), 0, 'the vote won on node 0 was released');
  // A waiter in the same position keeps its place and gets the key once node 1 frees it.
  const waiter = ctx.lock({ retryCount: 1_000, retryDelayMs: 3, retryJitterMs: 1 });
  const pending = within(5_000, 'waiter after a split vote', waiter.acquire(key, 5_000));
  await sleep(20);
  await ctx.clients[1]!.del(`${ctx.prefix}${key}`);
  const lease = await pending;
  for (const c of ctx.clients) assert.is(await c.get(`${ctx.prefix}${key}`), lease.owner);
  // Released on one node behind the lease's back: the release still returns.
  await ctx.clients[0]!.del(`${ctx.prefix}${key}`);
  await within(5_000, 'release on a split vote', lease.release());
  for (const c of ctx.clients) assert.is(await c.exists(`${ctx.prefix}${key}`), 0);
});

test('a tie (each of two callers took one node) is retried after a random delay: one of them wins, the other is refused', async (ctx) => {
  const key = `k${ctx.n++}`;
  // A rival's half of a tie: it holds node 1 only, and (as redlock does) lets go a moment later.
  await ctx.clients[1]!.set(`${ctx.prefix}${key}`, `${Date.now()}.n.rival`, 'PX', 40);
  const lease = await within(5_000, 'acquire through a tie', ctx.lock().acquire(key, 5_000));
  for (const c of ctx.clients) assert.is(await c.get(`${ctx.prefix}${key}`), lease.owner);
  await lease.release();
  // Two nodes (each its own connections) at once, many times over: exactly one wins each round, never none.
  let token = 0;
  const nodes = [0, 1].map(
    () => new RedlockLock([new Redis(`${REDIS_URL}/0`), new Redis(`${REDIS_URL}/1`)], { next: async () => ++token }, { keyPrefix: ctx.prefix }, true),
  );
  ctx.made.push(...nodes);
  for (let round = 0; round < 20; round++) {
    const results = await Promise.allSettled(nodes.map((n) => n.acquire(key, 5_000)));
    const won = results.filter((r): r is PromiseFulfilledResult<LockLease> => r.status === 'fulfilled');
    assert.is(won.length, 1, `round ${round}: exactly one caller won`);
    const lost = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
    assert.instance(lost.reason, LockHeldError);
    await won[0]!.value.release();
  }
});

if (redisUp) test.run();
