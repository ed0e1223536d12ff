/**
 * Retrain mutex benchmark (issue #5): `npm run bench:locks`.
 *
 * Informational only: never exits non-zero because of a time; exits 1 only
 * when Redis is unreachable. Needs Redis at BENCH_REDIS_URL (default
 * redis://127.0.0.1:6379); every key carries a random prefix and is deleted.
 *
 *   raw         the floor: two plain round trips, `SET key v NX PX ttl` then
 *               `DEL key`, on the same connection.
 *   redlock     RedlockLock.acquire + release, uncontended, on the same one
 *               Redis node (EVALSHA acquire script + EVALSHA release script).
 *               The fencing token comes from an in-memory counter here so the
 *               figure is Redlock's own; production adds one Postgres upsert.
 *   contended   BENCH_CONTENDERS (20) workers loop acquire → release on ONE
 *               key; an acquire is timed from its first attempt to success,
 *               retries included (retry delay BENCH_RETRY_MS 50 ms, jitter
 *               BENCH_JITTER_MS 25 ms: production's defaults; a waiter is
 *               woken by the release, the retry tick is the fallback).
 *               The max shows fairness: first come, first served bounds it.
 *
 * Targets (issue): uncontended p99 ≤ 2 raw round trips + 1 ms, i.e. the raw
 * SET+DEL p99 + 1 ms; contended p99 ≤ 100 ms.
 * Knobs: BENCH_ITERATIONS (2000), BENCH_CONTENDERS (20), BENCH_CONTENDED_MS (5000).
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { LockHeldError } from '../actors/errors';
import { RedlockLock } from '../control-plane/lock/redlock-lock';
import { describeMachine, envInt } from './support/load';
import { markdownTable, percentile } from './support/stats';

const URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
const ITER = envInt('BENCH_ITERATIONS', 2000, 10, 1_000_000);
const CONTENDERS = envInt('BENCH_CONTENDERS', 20, 2, 1000);
const CONTENDED_MS = envInt('BENCH_CONTENDED_MS', 5000, 200, 60_000);
// Production's defaults: waiters are woken by the release (fair-queue.ts); the retry tick is only the fallback.
const RETRY_MS = envInt('BENCH_RETRY_MS', 50, 0, 1000);
const JITTER_MS = envInt('BENCH_JITTER_MS', 25, 0, 1000);
const TTL = 10_000;

const stats = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return { n: s.length, p50: percentile(s, 0.5), p99: percentile(s, 0.99), max: s[s.length - 1] ?? Number.NaN };
};
const ms = (n: number) => n.toFixed(3);

async function main(): Promise<void> {
  const redis = new Redis(URL, { maxRetriesPerRequest: 1, lazyConnect: true });
  try {
    await redis.connect();
    await redis.ping();
  } catch (err) {
    console.error(`bench:locks needs Redis at ${URL}: ${(err as Error).message}`);
    process.exit(1);
  }
  const prefix = `tg-bench-${randomBytes(4).toString('hex')}:`;
  let token = 0;
  const fences = { next: async () => ++token };

  // Warm-up: connection, script cache (EVALSHA after the first EVAL), JIT.
  const lock = new RedlockLock([redis], fences, { keyPrefix: prefix });
  for (let i = 0; i < 200; i++) {
    await (await lock.acquire('warm', TTL)).release();
    await redis.set(`${prefix}raw`, 'v', 'PX', TTL, 'NX');
    await redis.del(`${prefix}raw`);
  }

  // Interleaved so both see the same machine noise.
  const raw: number[] = [];
  const red: number[] = [];
  for (let i = 0; i < ITER; i++) {
    let t = performance.now();
    await redis.set(`${prefix}raw`, 'v', 'PX', TTL, 'NX');
    await redis.del(`${prefix}raw`);
    raw.push(performance.now() - t);
    t = performance.now();
    const lease = await lock.acquire('uncontended', TTL);
    await lease.release();
    red.push(performance.now() - t);
  }

  // Contended: each worker has its own connection, as separate nodes would.
  const clients = Array.from({ length: CONTENDERS }, () => new Redis(URL, { maxRetriesPerRequest: 1 }));
  const waits: number[] = [];
  let refused = 0;
  const stopAt = performance.now() + CONTENDED_MS;
  await Promise.all(
    clients.map(async (c) => {
      const l = new RedlockLock([c], fences, { keyPrefix: prefix, retryCount: 10_000, retryDelayMs: RETRY_MS, retryJitterMs: JITTER_MS });
      while (performance.now() < stopAt) {
        const t = performance.now();
        try {
          const lease = await l.acquire('contended', TTL);
          waits.push(performance.now() - t);
          await lease.release();
        } catch (err) {
          if (err instanceof LockHeldError) refused++;
          else throw err;
        }
      }
      await l.close();
    }),
  );
  await Promise.all(clients.map((c) => c.quit()));
  await redis.del(`${prefix}raw`, `${prefix}uncontended`, `${prefix}contended`, `${prefix}warm`);
  await redis.quit();

  const r = stats(raw);
  const u = stats(red);
  const c = stats(waits);
  const rows = [
    ['raw SET NX PX + DEL (2 round trips)', String(r.n), ms(r.p50), ms(r.p99), ms(r.max), '1.00', ''],
    ['Redlock acquire + release, uncontended', String(u.n), ms(u.p50), ms(u.p99), ms(u.max), (u.p99 / r.p99).toFixed(2), `p99 ≤ raw p99 + 1 ms = ${ms(r.p99 + 1)}: ${u.p99 <= r.p99 + 1 ? 'met' : 'NOT met'}`],
    [`Redlock acquire (wait incl. retries), ${CONTENDERS} contenders`, String(c.n), ms(c.p50), ms(c.p99), ms(c.max), (c.p99 / r.p99).toFixed(2), `p99 ≤ 100 ms: ${c.p99 <= 100 ? 'met' : 'NOT met'}`],
  ];
  console.log(describeMachine([['redis', URL], ['iterations', String(ITER)], ['contenders', String(CONTENDERS)], ['retry', `${RETRY_MS} ms + jitter ${JITTER_MS} ms`]]).join('\n'));
  console.log(markdownTable(['phase', 'n', 'p50 ms', 'p99 ms', 'max ms', 'p99 / raw p99', 'target'], rows));
  console.log(`contended: ${c.n} acquisitions in ${CONTENDED_MS} ms (${((c.n * 1000) / CONTENDED_MS).toFixed(0)}/s), ${refused} gave up after 10,000 retries`);
}

await main();
